import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { causeMessage } from '../../lambdas/core/steps/failure';
import type { ProgressEvent } from '../../local/progress';

/**
 * The Step Functions execution histories AWS records for a run (its execution, and each batch
 * execution its RunBatch Task starts), built from what local mode (aws-local-stepfunctions)
 * recorded for the same run (history.json: each event names its `execution`), so `certflow run`
 * can be tested on the events of a real run. Event shapes follow the Step Functions API reference:
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
 *
 * A Task that starts a child execution and waits for it (`arn:aws:states:::states:startExecution.sync:2`,
 * RunBatch) records TaskScheduled, TaskStarted, TaskSubmitted (its output the StartExecution
 * response, `ExecutionArn` first), then TaskSucceeded (the child's DescribeExecution, `Output`
 * parsed as `:2` gives it) or TaskFailed (`States.TaskFailed`, the DescribeExecution as the
 * cause). Shapes and field names as recorded against AWS in localstack/localstack
 * tests/aws/services/stepfunctions/v2/callback/test_callback.snapshot.json ("test_start_execution_sync",
 * "test_start_execution_sync_delegate_failure"; resourceType `states`, resource
 * `startExecution.sync`, here `startExecution.sync:2`), and the API reference's
 * TaskScheduledEventDetails, TaskStartedEventDetails, TaskSubmittedEventDetails,
 * TaskSucceededEventDetails, TaskFailedEventDetails. The localstack snapshot shows the JSON
 * strings parsed and masks the request ids and dates; here they are strings again, with a fixed
 * request id and the dates as epoch milliseconds (what local mode's RunBatch result carries).
 */

interface LocalEvent extends ProgressEvent {
  /** The execution the event belongs to (history.json; absent: the run's). */
  execution?: string;
  input?: unknown;
  output?: unknown;
  parentState?: { name: string };
  state?: ProgressEvent['state'] & { input?: unknown };
}

/** The histories of one run: the run's execution's, and each batch execution's by its ARN. */
export interface AwsHistories {
  run: HistoryEvent[];
  batches: Map<string, HistoryEvent[]>;
}

/** A child execution a Task of the run started. */
interface Child {
  arn: string;
  input: unknown;
  startDate: number;
  stopDate: number;
}

/** How an execution that did not succeed ended (DescribeExecution `status`, `error`, `cause`). */
interface Ending {
  status: string;
  error?: string;
  cause?: string;
}

const FUNCTION_ARN = (name: string): string =>
  `arn:aws:lambda:us-east-1:123456789012:function:certflow-${name}`;
const truncated = { truncated: false };
const START_EXECUTION = { resourceType: 'states', resource: 'startExecution.sync:2' };
/** The response metadata Step Functions adds to an SDK integration's output (localstack snapshot, above). */
const SDK_METADATA = {
  SdkHttpMetadata: {
    AllHttpHeaders: {
      'x-amzn-RequestId': ['8b6ae2a7-d5d8-4a4c-9b06-1b1bfd2fa2a4'],
      'Content-Length': ['161'],
      'Content-Type': ['application/x-amz-json-1.0'],
    },
    HttpHeaders: {
      'Content-Length': '161',
      'Content-Type': 'application/x-amz-json-1.0',
      'x-amzn-RequestId': '8b6ae2a7-d5d8-4a4c-9b06-1b1bfd2fa2a4',
    },
    HttpStatusCode: 200,
  },
  SdkResponseMetadata: { RequestId: '8b6ae2a7-d5d8-4a4c-9b06-1b1bfd2fa2a4' },
};

/** Certificates of a batch (a RunBatch input, or a batch execution's input), as a key. */
function batchKey(input: unknown): string | undefined {
  const batch = (input as { batch?: { certificate?: unknown }[] } | undefined)?.batch;
  return Array.isArray(batch) ? batch.map((b) => String(b.certificate)).join(',') : undefined;
}

/** Split a local run's events by execution and build each execution's AWS history. */
export function awsHistoriesFrom(local: LocalEvent[]): AwsHistories {
  const runArn = local[0]?.execution;
  const byExecution = new Map<string | undefined, LocalEvent[]>();
  for (const e of local) {
    const arn = e.execution ?? runArn;
    byExecution.set(arn, [...(byExecution.get(arn) ?? []), e]);
  }
  const children = new Map<string, Child>();
  for (const [arn, events] of byExecution) {
    if (arn === runArn || arn === undefined) continue;
    const started = events.find((e) => e.type === 'ExecutionStarted');
    const key = batchKey(started?.input);
    if (key === undefined) continue;
    children.set(key, {
      arn,
      input: started?.input,
      startDate: started?.timestamp ?? 0,
      stopDate: events[events.length - 1]?.timestamp ?? 0,
    });
  }
  // A batch that did not succeed: the run's RunBatch failed with its DescribeExecution as the
  // cause (local/run-with-batches.ts), which says how it ended (local mode records a stopped
  // execution as ExecutionAborted, whatever stopped it).
  const endings = new Map<string, Ending>();
  for (const e of byExecution.get(runArn) ?? []) {
    if (e.type !== 'StateFailed' || e.Error !== 'States.TaskFailed') continue;
    const d = parseJson(causeMessage(e.Cause)) as
      | { ExecutionArn?: string; Status?: string; Error?: string; Cause?: unknown }
      | undefined;
    if (typeof d?.ExecutionArn === 'string' && typeof d.Status === 'string') {
      endings.set(d.ExecutionArn, {
        status: d.Status,
        ...(d.Error === undefined ? {} : { error: d.Error }),
        ...(d.Cause === undefined ? {} : { cause: String(d.Cause) }),
      });
    }
  }
  const batches = new Map<string, HistoryEvent[]>();
  for (const [arn, events] of byExecution) {
    if (arn !== runArn && arn !== undefined) {
      batches.set(
        arn,
        historyOf(events, () => undefined, endings.get(arn)),
      );
    }
  }
  const run = historyOf(byExecution.get(runArn) ?? [], (input) => {
    const key = batchKey(input);
    return key === undefined ? undefined : children.get(key);
  });
  return { run, batches };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * One execution's history; `childOf` finds the child execution a Task with this input started;
 * `ending`: how the execution ended, when local mode recorded it as stopped.
 */
function historyOf(
  local: LocalEvent[],
  childOf: (taskInput: unknown) => Child | undefined,
  ending?: Ending,
): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  /** Last event id per iteration ("run" at the top level). */
  const last = new Map<string, number>();
  const failedTasks = new Set<string>();
  const childTasks = new Map<string, Child>();
  let failStateFailedAt: Date | undefined;
  let mapName = '';
  const add = (thread: string, event: Omit<HistoryEvent, 'id' | 'previousEventId'>): void => {
    const id = out.length + 1;
    out.push({ ...event, id, previousEventId: last.get(thread) ?? 0 } as HistoryEvent);
    last.set(thread, id);
  };
  const schedule = (thread: string, timestamp: Date, key: string, state: string, input: unknown): void => {
    const child = childOf(input);
    if (!child) {
      scheduleLambda(add, thread, timestamp, state, input);
      return;
    }
    childTasks.set(key, child);
    add(thread, {
      timestamp,
      type: 'TaskScheduled',
      taskScheduledEventDetails: {
        ...START_EXECUTION,
        region: 'us-east-1',
        parameters: JSON.stringify({ StateMachineArn: stateMachineOf(child.arn), Input: child.input }),
      },
    });
    add(thread, { timestamp, type: 'TaskStarted', taskStartedEventDetails: START_EXECUTION });
    add(thread, {
      timestamp,
      type: 'TaskSubmitted',
      taskSubmittedEventDetails: {
        ...START_EXECUTION,
        output: JSON.stringify({ ExecutionArn: child.arn, ...SDK_METADATA, StartDate: child.startDate }),
        outputDetails: truncated,
      },
    });
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
          const input = e.state?.input as
            | { selection?: { batches?: unknown[]; due?: unknown[] }; batch?: unknown[] }
            | undefined;
          const items = input?.selection?.batches ?? input?.selection?.due ?? input?.batch ?? [];
          add(thread, {
            timestamp,
            type: 'MapStateStarted',
            mapStateStartedEventDetails: { length: items.length },
          });
        }
        if (type === 'Task') schedule(thread, timestamp, key, name, e.state?.input);
        break;
      }
      case 'StateRetried':
        schedule(thread, timestamp, key, name, e.state?.input);
        break;
      case 'StateFailed':
        // A Fail state has no event of its own on AWS after FailStateEntered: the execution
        // fails at that moment, so its ExecutionFailed carries the time local mode records here.
        if (type === 'Fail') failStateFailedAt = timestamp;
        if (type === 'Task') {
          failedTasks.add(key);
          const details = { error: e.Error, cause: String(e.Cause ?? '') };
          if (childTasks.has(key)) {
            // AWS's cause is the child's DescribeExecution itself (local mode wraps it as a Lambda error)
            add(thread, {
              timestamp,
              type: 'TaskFailed',
              taskFailedEventDetails: { ...START_EXECUTION, error: e.Error, cause: causeMessage(e.Cause) },
            });
          } else {
            add(thread, {
              timestamp,
              type: 'LambdaFunctionFailed',
              lambdaFunctionFailedEventDetails: details,
            });
          }
        }
        break;
      case 'StateCaught':
        break;
      case 'StateExited': {
        const output = JSON.stringify(e.state?.output ?? null);
        const child = childTasks.get(key);
        if (type === 'Task' && !failedTasks.delete(key)) {
          if (child) {
            add(thread, {
              timestamp,
              type: 'TaskSucceeded',
              taskSucceededEventDetails: {
                ...START_EXECUTION,
                output: JSON.stringify(describeSucceeded(child, e.state?.output)),
                outputDetails: truncated,
              },
            });
          } else {
            add(thread, {
              timestamp,
              type: 'LambdaFunctionSucceeded',
              lambdaFunctionSucceededEventDetails: { output, outputDetails: truncated },
            });
          }
        }
        childTasks.delete(key);
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
          timestamp: failStateFailedAt ?? timestamp,
          type: 'ExecutionFailed',
          executionFailedEventDetails: { error: e.Error, cause: String(e.Cause ?? '') },
        });
        break;
      case 'ExecutionAborted':
      case 'ExecutionTimeout': {
        const status = ending?.status ?? (e.type === 'ExecutionTimeout' ? 'TIMED_OUT' : 'ABORTED');
        const details = { error: ending?.error ?? status, cause: ending?.cause ?? '' };
        if (status === 'FAILED') {
          add('run', { timestamp, type: 'ExecutionFailed', executionFailedEventDetails: details });
        } else if (status === 'TIMED_OUT') {
          add('run', { timestamp, type: 'ExecutionTimedOut', executionTimedOutEventDetails: details });
        } else {
          add('run', { timestamp, type: 'ExecutionAborted', executionAbortedEventDetails: details });
        }
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** `arn:…:execution:<machine>:<name>` → `arn:…:stateMachine:<machine>`. */
function stateMachineOf(executionArn: string): string {
  return executionArn.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, '');
}

/** A succeeded child's DescribeExecution, as `startExecution.sync:2` reports it (`Output` parsed). */
function describeSucceeded(child: Child, output: unknown): Record<string, unknown> {
  return {
    ExecutionArn: child.arn,
    Input: JSON.stringify(child.input ?? {}),
    InputDetails: { Included: true },
    Name: child.arn.split(':').pop(),
    Output: output ?? null,
    OutputDetails: { Included: true },
    StartDate: child.startDate,
    StateMachineArn: stateMachineOf(child.arn),
    Status: 'SUCCEEDED',
    StopDate: child.stopDate,
  };
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
