import type { TaskStep } from '../../lambdas/core/state';

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
 * once the earlier invocation is over (lib/state-machine/definition.ts).
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

/**
 * What a Task state waits for its function beyond the function timeout: room for a cold
 * start's init and the invoke's own round trip, so that Lambda's timer, not the Task's, ends a
 * slow invocation.
 */
export const TASK_TIMEOUT_MARGIN_SECONDS = 30;

/**
 * A step's Task `TimeoutSeconds`: its function timeout plus {@link TASK_TIMEOUT_MARGIN_SECONDS}.
 *
 * Step Functions stops waiting at a Task's timeout but does not stop the Lambda invocation,
 * which runs on until the function's timeout ("Timeout is the maximum amount of time in seconds
 * that a Lambda function can run", Lambda developer guide, "Configure Lambda function timeout").
 * A Task that gave up first and retried would run its step twice at once. With the Task waiting
 * longer, Lambda's timer always fires first; its error (`Sandbox.Timedout`, or `Lambda.Unknown`:
 * "Unhandled errors in Lambda are reported as Lambda.Unknown … These include out-of-memory
 * errors and function timeouts", Step Functions developer guide, "Handle Lambda service
 * exceptions") is reported when the invocation has ended, so a retry never overlaps it.
 */
export function taskTimeoutSeconds(step: TaskStep): number {
  return STEP_SETTINGS[step].timeoutSeconds + TASK_TIMEOUT_MARGIN_SECONDS;
}
