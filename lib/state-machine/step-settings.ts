import type { TaskStep } from '../../lambdas/core/state';
import { STEP_SETTINGS } from '../../lambdas/core/step-settings';

/** Each step's function memory and timeout (lambdas/core/step-settings.ts: the deployment rules plan within them). */
export { STEP_SETTINGS, type StepSettings } from '../../lambdas/core/step-settings';

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
