import type { TaskStep } from '../../lambdas/core/state';
import { type AslDefinition, localFunctionArn } from '../../lib/state-machine/asl';
import { executeLocally, LOCAL_UNBOUNDED_TASK_SECONDS } from '../../local/execute';
import type { LocalFunction } from '../../local/lambda-runtime';

/**
 * Task time limits in local mode are Step Functions' own. AWS: "By default, the Amazon States
 * Language doesn't specify timeouts for state machine definitions" (Step Functions developer
 * guide, "Using timeouts to avoid stuck Step Functions workflow executions"): a Task without
 * `TimeoutSeconds` waits as long as its execution may run. A Task with `TimeoutSeconds` fails
 * with `States.Timeout` once it has run that long ("If the task runs longer than the specified
 * seconds, this state fails with a States.Timeout error", Task state reference).
 * aws-local-stepfunctions alone gives such a Task 60 seconds. Timers are Jest's fake ones, so the
 * minutes pass at once.
 */
describe('local Task timeouts, as Step Functions times them', () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /** A one-Task definition (`SelectDue`'s placeholder ARN), with the given Task and execution timeouts. */
  const definition = (task: Record<string, unknown>, executionSeconds?: number): AslDefinition => ({
    StartAt: 'Work',
    ...(executionSeconds ? { TimeoutSeconds: executionSeconds } : {}),
    States: { Work: { Type: 'Task', Resource: localFunctionArn('SelectDue'), End: true, ...task } },
  });

  /** A function whose invocation takes `seconds` (on the fake clock) and answers `{ done: true }`. */
  const slowFunctions = (seconds: number) => {
    const invoke = () => new Promise((resolve) => setTimeout(() => resolve({ done: true }), seconds * 1000));
    return new Proxy({}, { get: () => ({ invoke }) }) as Record<TaskStep, LocalFunction>;
  };

  const run = async (def: AslDefinition, taskSeconds: number, advanceSeconds: number) => {
    const execution = executeLocally(def, {}, { functions: slowFunctions(taskSeconds) });
    await jest.advanceTimersByTimeAsync(advanceSeconds * 1000);
    return execution;
  };

  it('a Task without TimeoutSeconds runs past 60 s and succeeds (no limit AWS does not have)', async () => {
    const result = await run(definition({}, 6 * 3600), 70, 71);
    expect(result.failed).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ done: true });
  });

  it("a Task without TimeoutSeconds is ended by the execution's own limit, which is reported TIMED_OUT", async () => {
    const result = await run(definition({}, 120), 300, 301);
    expect(result.status).toBe('TIMED_OUT');
    expect(result.failed?.Error).toBe('States.Timeout');
  });

  it('a Task with TimeoutSeconds fails with States.Timeout at that second, not before', async () => {
    const def = definition({ TimeoutSeconds: 90 }, 3600);
    // 89 s of work: inside the limit
    expect((await run(def, 89, 90)).status).toBe('SUCCEEDED');
    // 91 s of work: the Task's own limit fires at 90 s
    const late = await run(def, 91, 92);
    expect(late.status).toBe('FAILED');
    expect(late.failed?.Error).toBe('States.Timeout');
    const failedAt = late.events.find((e) => e.type === 'StateFailed' || e.type === 'ExecutionFailed');
    const startedAt = late.events.find((e) => e.type === 'ExecutionStarted');
    expect((failedAt?.timestamp ?? 0) - (startedAt?.timestamp ?? 0)).toBeGreaterThanOrEqual(90_000);
    expect((failedAt?.timestamp ?? 0) - (startedAt?.timestamp ?? 0)).toBeLessThan(91_000);
  });

  it('the stand-in for "no limit" is the longest a Node.js timer can wait (24.8 days), past any execution here', () => {
    expect(LOCAL_UNBOUNDED_TASK_SECONDS).toBe(2_147_483);
    expect(LOCAL_UNBOUNDED_TASK_SECONDS).toBeGreaterThan(6 * 3600);
  });
});
