/** Each step's wiring, as its handler declares it (tests build contexts the way the functions do). */
import type { TaskStep } from '../../lambdas/core/state';
import { wiring as AnswerChallenges } from '../../lambdas/handlers/answer-challenges';
import { wiring as CheckOrder } from '../../lambdas/handlers/check-order';
import { wiring as CheckPropagation } from '../../lambdas/handlers/check-propagation';
import { wiring as Cleanup } from '../../lambdas/handlers/cleanup';
import { wiring as CreateOrder } from '../../lambdas/handlers/create-order';
import { wiring as FinalizeAndStore } from '../../lambdas/handlers/finalize-and-store';
import { wiring as PublishRecords } from '../../lambdas/handlers/publish-records';
import { wiring as RecordFailure } from '../../lambdas/handlers/record-failure';
import { wiring as SelectDue } from '../../lambdas/handlers/select-due';
import { wiring as Summarize } from '../../lambdas/handlers/summarize';
import type { Wirings } from '../../lambdas/runtime/handler';

export const STEP_WIRINGS: Record<TaskStep, Wirings> = {
  SelectDue,
  CreateOrder,
  PublishRecords,
  CheckPropagation,
  AnswerChallenges,
  CheckOrder,
  FinalizeAndStore,
  Cleanup,
  RecordFailure,
  Summarize,
};
