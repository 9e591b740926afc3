import '../../lambdas/runtime/polyfills';
import { resolve as resolvePath } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import { HANDLER_ENTRIES } from '../../lambdas/runtime/env';
import { resetHandlerContext } from '../../lambdas/runtime/handler';
import { type AslDefinition, taskStates } from '../state-machine/render';

type JsonValue = Parameters<StateMachine['run']>[0];
/** One event of aws-local-stepfunctions' execution log (the type is not exported by name). */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type LocalHandler = (input: JsonValue) => Promise<JsonValue>;

const REPO_ROOT = resolvePath(__dirname, '..', '..');

/** The Task step a state's placeholder ARN points at (`...:function:certflow-<Step>`). */
export function stepOfResource(resource: string | undefined): TaskStep {
  const step = resource?.split(':function:certflow-')[1];
  if (!step || !(TASK_STEPS as readonly string[]).includes(step)) {
    throw new Error(`Task resource ${resource} is not a certflow function`);
  }
  return step as TaskStep;
}

/**
 * Errors as Step Functions sees them from Lambda: `Error` is the error's name, `Cause` the JSON
 * `{"errorType","errorMessage"}` document. aws-local-stepfunctions uses `name` and `message`,
 * so the local wrapper re-shapes errors to give handlers the same input as on AWS.
 */
class LambdaStyleError extends Error {
  constructor(original: unknown) {
    const name = original instanceof Error ? original.name : 'Error';
    const message = original instanceof Error ? original.message : String(original);
    super(JSON.stringify({ errorType: name, errorMessage: message }));
    this.name = name;
  }
}

/** Each Task state's real handler (the module the stack bundles), keyed by state name. */
export function localHandlers(definition: AslDefinition): Record<string, LocalHandler> {
  resetHandlerContext();
  const handlers: Record<string, LocalHandler> = {};
  for (const [stateName, state] of taskStates(definition)) {
    const step = stepOfResource(state.Resource);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(resolvePath(REPO_ROOT, HANDLER_ENTRIES[step])) as {
      handler: (e: unknown) => Promise<unknown>;
    };
    handlers[stateName] = async (input) => {
      try {
        return (await mod.handler(input)) as JsonValue;
      } catch (error) {
        throw new LambdaStyleError(error);
      }
    };
  }
  return handlers;
}

export interface LocalExecution {
  output: unknown;
  failed?: { Error: string; Cause: unknown };
  events: EventLog[];
}

/**
 * Run a definition on aws-local-stepfunctions with every Task calling its real handler.
 * `onEvent` sees each event as it happens (for one line per state).
 */
export async function executeLocally(
  definition: AslDefinition,
  input: unknown,
  onEvent: (event: EventLog) => void,
): Promise<LocalExecution> {
  const machine = new StateMachine(definition as unknown as ConstructorParameters<typeof StateMachine>[0], {
    validationOptions: { checkPaths: true, checkArn: true },
  });
  const execution = machine.run(input as JsonValue, {
    overrides: { taskResourceLocalHandlers: localHandlers(definition) },
  });
  const events: EventLog[] = [];
  const consume = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event);
      onEvent(event);
    }
  })();
  let output: unknown;
  let failed: LocalExecution['failed'];
  try {
    output = await execution.result;
  } catch (error) {
    const caught = (error as { cause?: { name?: string; message?: string } }).cause;
    failed = {
      Error: caught?.name ?? (error as Error).name,
      Cause: caught?.message ?? (error as Error).message,
    };
  }
  await consume;
  return { output, failed, events };
}
