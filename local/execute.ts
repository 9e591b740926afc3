import '../lambdas/runtime/polyfills';
import type { StateMachine } from 'aws-local-stepfunctions';
import { TASK_STEPS, type TaskStep } from '../lambdas/core/state';
import { type AslDefinition, taskStates } from '../lib/state-machine/asl';
import { isValidatedDefinition, loadEmulator } from './emulator';
import { HISTORY_EVENT_LIMIT, HistoryCounter, PAYLOAD_LIMIT_BYTES, payloadBytes } from './history-budget';
import type { LocalFunction } from './lambda-runtime';
import { testWaitOverrides } from './wait-override';

type JsonValue = Parameters<StateMachine['run']>[0];
type RunOptions = NonNullable<Parameters<StateMachine['run']>[1]>;
/** One event of aws-local-stepfunctions' execution log (the type is not exported by name). */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** The Task step a state's placeholder ARN points at (`...:function:certflow-<Step>`). */
export function stepOfResource(resource: string | undefined): TaskStep {
  const step = resource?.split(':function:certflow-')[1];
  if (!step || !(TASK_STEPS as readonly string[]).includes(step)) {
    throw new Error(`Task resource ${resource} is not a certflow function`);
  }
  return step as TaskStep;
}

/** How an execution ended, in Step Functions' words (DescribeExecution `status`). */
export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface LocalExecution {
  status: ExecutionStatus;
  output: unknown;
  /** The execution's error and cause, when it did not succeed. */
  failed?: { Error: string; Cause: unknown };
  events: EventLog[];
  /** AWS history events, counted as AWS counts them (local/history-budget.ts). */
  history: HistoryCounter;
}

export interface ExecuteOptions {
  /** The deployed functions, loaded for local invocation. */
  functions: Record<TaskStep, LocalFunction>;
  /** Sees each event as it happens (one line per state). */
  onEvent?: (event: EventLog) => void;
  /** The Context object (`$$`); `Execution.Id` names the execution. */
  context?: RunOptions['context'];
  /** Limits to enforce. @default AWS's: 25,000 events, 256 KiB per payload */
  limits?: { historyEvents?: number; payloadBytes?: number };
  /** Stops the execution (StopExecution): it ends ABORTED once running invocations return. */
  signal?: AbortSignal;
  /**
   * Runs a `states:startExecution.sync:2` Task (a child execution): given the Task's resolved
   * Parameters (`StateMachineArn`, `Input`), resolves to the DescribeExecution-shaped result
   * (`Output` parsed, as `.sync:2` gives it) or rejects with the error Step Functions reports.
   */
  startExecution?: (parameters: JsonValue) => Promise<JsonValue>;
}

/** Whether a Task state starts a child execution and waits for it (`states:startExecution.sync`). */
export function isStartExecutionTask(resource: string | undefined): boolean {
  return typeof resource === 'string' && resource.startsWith('arn:aws:states:::states:startExecution');
}

/**
 * The longest a Task may wait locally when its definition sets no `TimeoutSeconds`: Node.js
 * timers cannot wait longer than 2^31-1 ms (about 24.8 days; a longer delay fires at once).
 */
export const LOCAL_UNBOUNDED_TASK_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * The definition as aws-local-stepfunctions must see it to time Tasks as Step Functions does.
 *
 * aws-local-stepfunctions gives a Task state with neither `TimeoutSeconds` nor
 * `TimeoutSecondsPath` a 60-second limit of its own (`DEFAULT_TIMEOUT_SECONDS = 60` in its
 * TaskStateAction), and offers no option to change that default. Step Functions has none: "By
 * default, the Amazon States Language doesn't specify timeouts for state machine definitions"
 * (Step Functions developer guide, "Using timeouts to avoid stuck Step Functions workflow
 * executions"); such a Task waits as long as its execution may run (a Standard execution: up to
 * one year, or the definition's own `TimeoutSeconds`). So every such Task gets, in a copy, the
 * longest timeout a Node.js timer can keep ({@link LOCAL_UNBOUNDED_TASK_SECONDS}), beyond any
 * execution local mode runs (certflow's definitions end their executions after 6 hours): the
 * execution's own limit, not a Task limit AWS does not have, ends a long Task. Tasks with a
 * timeout keep it exactly.
 */
export function withStepFunctionsTaskTimeouts(definition: AslDefinition): AslDefinition {
  // A JSON copy, not structuredClone: its objects must belong to this realm (under a test runner's
  // sandbox, structuredClone's do not, and aws-local-stepfunctions then takes a Parameters
  // template for a plain value and passes it on unresolved).
  const copy = JSON.parse(JSON.stringify(definition)) as AslDefinition;
  for (const [, state] of taskStates(copy)) {
    if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
      state.TimeoutSeconds = LOCAL_UNBOUNDED_TASK_SECONDS;
    }
  }
  return copy;
}

/** A limit the execution hit, ending it as AWS ends it. */
class LimitReached extends Error {
  constructor(
    readonly error: string,
    readonly cause: string,
  ) {
    super(`${error}: ${cause}`);
  }
}

/**
 * Run a definition on aws-local-stepfunctions with every Task invoking its deployed function
 * bundle, counting history events and enforcing Step Functions' event and payload limits as
 * AWS does: a payload over the limit fails the execution with `States.DataLimitExceeded`
 * (terminal: no `States.ALL` catcher sees it), and event number `historyEvents` that is not the
 * execution's success fails it.
 */
export async function executeLocally(
  definition: AslDefinition,
  input: unknown,
  options: ExecuteOptions,
): Promise<LocalExecution> {
  const eventLimit = options.limits?.historyEvents ?? HISTORY_EVENT_LIMIT;
  const payloadLimit = options.limits?.payloadBytes ?? PAYLOAD_LIMIT_BYTES;
  const history = new HistoryCounter(
    new Set(
      taskStates(definition)
        .filter(([, st]) => isStartExecutionTask(st.Resource))
        .map(([name]) => name),
    ),
  );
  let limit: LimitReached | undefined;
  let abort: () => void = () => undefined;
  const reach = (reached: LimitReached): never => {
    limit ??= reached;
    abort();
    throw limit;
  };
  const checkPayload = (where: string, what: string, value: unknown): void => {
    const bytes = payloadBytes(value);
    if (bytes > payloadLimit) {
      reach(
        new LimitReached(
          'States.DataLimitExceeded',
          `The state/task '${where}' ${what} has a size (${bytes} bytes) exceeding the maximum number of bytes service limit (${payloadLimit}).`,
        ),
      );
    }
  };

  const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
  const running = new Set<Promise<unknown>>();
  let stopped = false;
  for (const [stateName, state] of taskStates(definition)) {
    if (isStartExecutionTask(state.Resource)) {
      handlers[stateName] = async (parameters) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (limit) throw limit;
        if (stopped) throw new Error('the execution was stopped');
        if (!options.startExecution)
          throw new Error(`${stateName} starts an execution, but no child runner is set`);
        const invocation = options.startExecution(parameters);
        running.add(invocation);
        const result = await invocation.finally(() => running.delete(invocation));
        if (limit) throw limit;
        checkPayload(stateName, 'returned a result that', result);
        return result as JsonValue;
      };
      continue;
    }
    const fn = options.functions[stepOfResource(state.Resource)];
    handlers[stateName] = async (payload) => {
      // Let the event log catch up, so a limit reached by an earlier state stops this one.
      await new Promise((resolve) => setImmediate(resolve));
      if (limit) throw limit;
      if (stopped) throw new Error('the execution was stopped');
      checkPayload(stateName, 'input', payload);
      const invocation = fn.invoke(payload as never);
      running.add(invocation);
      const result = await invocation.finally(() => running.delete(invocation));
      if (limit) throw limit;
      checkPayload(stateName, 'returned a result that', result);
      return result as JsonValue;
    };
  }

  const { StateMachine } = loadEmulator();
  // A definition validated when it was rendered (local/local-definition.ts) is not
  // validated again: ajv compiling the ASL schemas costs ~0.5 CPU-s per run.
  const validated = isValidatedDefinition(definition);
  const timed = withStepFunctionsTaskTimeouts(definition);
  const machine = new StateMachine(timed as unknown as ConstructorParameters<typeof StateMachine>[0], {
    validationOptions: validated ? { noValidate: true } : { checkPaths: true, checkArn: true },
  });
  const execution = machine.run(input as JsonValue, {
    overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: testWaitOverrides(definition) },
    context: options.context,
  });
  abort = execution.abort;
  const stop = () => {
    stopped = true;
    execution.abort();
  };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  const events: EventLog[] = [];
  const consume = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event);
      const before = history.total;
      history.add(event);
      options.onEvent?.(event);
      if (limit) continue;
      if ((event.type === 'StateEntered' || event.type === 'StateExited') && event.state.type !== 'Task') {
        const value = event.type === 'StateEntered' ? event.state.input : event.state.output;
        try {
          checkPayload(event.state.name, event.type === 'StateEntered' ? 'input' : 'output', value);
        } catch {
          // recorded in `limit`; the execution is aborted
        }
      }
      if (before < eventLimit && history.total >= eventLimit && event.type !== 'ExecutionSucceeded') {
        try {
          reach(
            new LimitReached(
              'States.Runtime',
              `The execution reached the maximum number of history events (${eventLimit}).`,
            ),
          );
        } catch {
          // recorded
        }
      }
    }
  })();

  let output: unknown;
  let failed: LocalExecution['failed'];
  let status: ExecutionStatus = 'SUCCEEDED';
  try {
    output = await execution.result;
  } catch (error) {
    const name = (error as Error).name;
    const caught = (error as { cause?: { name?: string; message?: string } }).cause;
    if (name === 'ExecutionTimeoutError') {
      status = 'TIMED_OUT';
      failed = { Error: 'States.Timeout', Cause: 'The execution timed out (TimeoutSeconds).' };
    } else if (name === 'ExecutionAbortedError' && !limit) {
      status = 'ABORTED';
      failed = { Error: 'ExecutionAborted', Cause: 'The execution was stopped.' };
    } else {
      status = 'FAILED';
      failed = { Error: caught?.name ?? name, Cause: caught?.message ?? (error as Error).message };
    }
  }
  await consume;
  options.signal?.removeEventListener('abort', stop);
  // As on AWS, a stopped execution's running invocations finish on their own; wait for them, so
  // whatever they wrote is there to clean up.
  await Promise.allSettled([...running]);
  if (limit) {
    status = 'FAILED';
    failed = { Error: limit.error, Cause: limit.cause };
  }
  return { status, output, failed, events, history };
}
