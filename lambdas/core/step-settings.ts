import type { TaskStep } from './state';

/** One Task step's function: memory and timeout. The Task state waits longer (see {@link taskTimeoutSeconds}). */
export interface StepSettings {
  /** MB. Lambda's CPU share grows with memory; RSA 4096 key generation is CPU-bound. */
  memoryMb: number;
  /** The function timeout (Lambda's own timer). */
  timeoutSeconds: number;
}

/**
 * Memory and timeout of each step's function. A slow invocation is ended by Lambda's own timer
 * and surfaces as `Sandbox.Timedout` (or `Lambda.Unknown`), which is retried: the Task state
 * waits longer than the function may run ({@link taskTimeoutSeconds}), so its retry starts only
 * once the earlier invocation is over (lib/state-machine/definition.ts). In core: the
 * deployment rules (lambdas/core/config/deployment.ts) plan within these timeouts.
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
