import type { TaskStep } from '../../lambdas/core/state';

/** One Task step's function: memory and timeout. The Task state's timeout is the same number. */
export interface StepSettings {
  /** MB. Lambda's CPU share grows with memory; RSA 4096 key generation is CPU-bound. */
  memoryMb: number;
  /** The function timeout and the Task state's `TimeoutSeconds`. */
  timeoutSeconds: number;
}

/**
 * Memory and timeout of each step's function. The Task state's `TimeoutSeconds` equals the
 * function's timeout, so a slow invocation surfaces as `States.Timeout` (or the runtime's
 * `Sandbox.Timedout` when Lambda's own timer fires first); both are retried where the step is
 * safe to repeat (lib/state-machine/definition.ts).
 */
export const STEP_SETTINGS: Record<TaskStep, StepSettings> = {
  SelectDue: { memoryMb: 512, timeoutSeconds: 300 },
  CreateOrder: { memoryMb: 512, timeoutSeconds: 120 },
  PublishRecords: { memoryMb: 512, timeoutSeconds: 300 },
  CheckPropagation: { memoryMb: 512, timeoutSeconds: 120 },
  AnswerChallenges: { memoryMb: 512, timeoutSeconds: 60 },
  CheckOrder: { memoryMb: 512, timeoutSeconds: 60 },
  FinalizeAndStore: { memoryMb: 1024, timeoutSeconds: 180 },
  Cleanup: { memoryMb: 512, timeoutSeconds: 300 },
  RecordFailure: { memoryMb: 256, timeoutSeconds: 30 },
  Summarize: { memoryMb: 256, timeoutSeconds: 60 },
};
