import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { ProgressEvent } from '../../lib/local/progress';

/**
 * The Step Functions execution history AWS records for an execution, built from what local mode
 * (aws-local-stepfunctions) recorded for the same run, so `certflow run` can be tested on the
 * events of a real run. Event shapes follow the Step Functions API reference:
 *   HistoryEvent             https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
 *   StateEnteredEventDetails https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateEnteredEventDetails.html
 *   StateExitedEventDetails  https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateExitedEventDetails.html
 *   LambdaFunction*EventDetails, MapIterationEventDetails, MapStateStartedEventDetails,
 *   ExecutionFailedEventDetails (same reference).
 * A Task whose Resource is a function ARN (as the stack's LambdaInvoke with payloadResponseOnly
 * renders) records LambdaFunctionScheduled/Started/Succeeded|Failed between TaskStateEntered and
 * TaskStateExited; a retry schedules the function again; a caught failure exits the state with
 * the Catch's output; a Fail state has no exit event, the execution fails after it. Inside a Map,
 * each event's previousEventId is the previous event of the same iteration.
 */

interface LocalEvent extends ProgressEvent {
  input?: unknown;
  output?: unknown;
  parentState?: { name: string };
  state?: ProgressEvent['state'] & { input?: unknown };
}

const FUNCTION_ARN = (name: string): string =>
  `arn:aws:lambda:us-east-1:123456789012:function:certflow-${name}`;
const truncated = { truncated: false };

export function awsHistoryFrom(local: LocalEvent[]): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  /** Last event id per iteration ("run" at the top level). */
  const last = new Map<string, number>();
  const failedTasks = new Set<string>();
  let mapName = '';
  const add = (thread: string, event: Omit<HistoryEvent, 'id' | 'previousEventId'>): void => {
    const id = out.length + 1;
    out.push({ ...event, id, previousEventId: last.get(thread) ?? 0 } as HistoryEvent);
    last.set(thread, id);
  };
  for (const e of local) {
    const thread = e.index === undefined ? 'run' : String(e.index);
    const timestamp = new Date(e.timestamp);
    const name = e.state?.name ?? '';
    const type = e.state?.type ?? '';
    const key = `${thread}:${name}`;
    switch (e.type) {
      case 'ExecutionStarted':
        add('run', {
          timestamp,
          type: 'ExecutionStarted',
          executionStartedEventDetails: {
            input: JSON.stringify(e.input ?? {}),
            inputDetails: truncated,
            roleArn: 'arn:aws:iam::123456789012:role/CertflowStateMachineRole',
          },
        });
        break;
      case 'StateEntered': {
        add(thread, {
          timestamp,
          type: `${type}StateEntered` as HistoryEvent['type'],
          stateEnteredEventDetails: {
            name,
            input: JSON.stringify(e.state?.input ?? {}),
            inputDetails: truncated,
          },
        });
        if (type === 'Map') {
          mapName = name;
          const items =
            (e.state?.input as { selection?: { due?: unknown[] } } | undefined)?.selection?.due ?? [];
          add(thread, {
            timestamp,
            type: 'MapStateStarted',
            mapStateStartedEventDetails: { length: items.length },
          });
        }
        if (type === 'Task') scheduleLambda(add, thread, timestamp, name, e.state?.input);
        break;
      }
      case 'StateRetried':
        scheduleLambda(add, thread, timestamp, name, e.state?.input);
        break;
      case 'StateFailed':
        if (type === 'Task') {
          failedTasks.add(key);
          add(thread, {
            timestamp,
            type: 'LambdaFunctionFailed',
            lambdaFunctionFailedEventDetails: { error: e.Error, cause: String(e.Cause ?? '') },
          });
        }
        break;
      case 'StateCaught':
        break;
      case 'StateExited': {
        const output = JSON.stringify(e.state?.output ?? null);
        if (type === 'Task' && !failedTasks.delete(key)) {
          const result = e.state?.output as Record<string, unknown> | undefined;
          add(thread, {
            timestamp,
            type: 'LambdaFunctionSucceeded',
            lambdaFunctionSucceededEventDetails: {
              output: JSON.stringify(result ?? null),
              outputDetails: truncated,
            },
          });
        }
        if (type === 'Fail') break;
        if (type === 'Map') add(thread, { timestamp, type: 'MapStateSucceeded' });
        add(thread, {
          timestamp,
          type: `${type}StateExited` as HistoryEvent['type'],
          stateExitedEventDetails: { name, output, outputDetails: truncated },
        });
        break;
      }
      case 'MapIterationStarted':
        last.set(thread, last.get('run') ?? 0);
        add(thread, {
          timestamp,
          type: 'MapIterationStarted',
          mapIterationStartedEventDetails: { name: e.parentState?.name ?? mapName, index: e.index },
        });
        break;
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const details = { name: e.parentState?.name ?? mapName, index: e.index };
        add(thread, {
          timestamp,
          type: e.type,
          ...(e.type === 'MapIterationSucceeded'
            ? { mapIterationSucceededEventDetails: details }
            : { mapIterationFailedEventDetails: details }),
        });
        break;
      }
      case 'ExecutionSucceeded':
        add('run', {
          timestamp,
          type: 'ExecutionSucceeded',
          executionSucceededEventDetails: {
            output: JSON.stringify(e.output ?? null),
            outputDetails: truncated,
          },
        });
        break;
      case 'ExecutionFailed':
        add('run', {
          timestamp,
          type: 'ExecutionFailed',
          executionFailedEventDetails: { error: e.Error, cause: String(e.Cause ?? '') },
        });
        break;
      default:
        break;
    }
  }
  return out;
}

function scheduleLambda(
  add: (thread: string, event: Omit<HistoryEvent, 'id' | 'previousEventId'>) => void,
  thread: string,
  timestamp: Date,
  state: string,
  input: unknown,
): void {
  add(thread, {
    timestamp,
    type: 'LambdaFunctionScheduled',
    lambdaFunctionScheduledEventDetails: {
      resource: FUNCTION_ARN(state),
      input: JSON.stringify(input ?? {}),
      inputDetails: truncated,
      timeoutInSeconds: 300,
    },
  });
  add(thread, { timestamp, type: 'LambdaFunctionStarted' });
}
