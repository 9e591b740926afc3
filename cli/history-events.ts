import type { ProgressEvent } from '../local/progress';

/**
 * Step Functions execution history (GetExecutionHistory, `HistoryEvent` in the API reference:
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html) turned
 * into the events local mode's progress printer reads, so `certflow run` prints the same lines
 * as `certflow local` for the same execution.
 */

interface ErrorDetails {
  error?: string;
  cause?: string;
}

/** The fields of a `HistoryEvent` this module reads (the SDK's `HistoryEvent` is one). */
export interface SfnHistoryEvent {
  id: number | undefined;
  previousEventId?: number;
  timestamp: Date | undefined;
  type: string | undefined;
  stateEnteredEventDetails?: { name: string | undefined; input?: string };
  stateExitedEventDetails?: { name: string | undefined; output?: string };
  mapIterationStartedEventDetails?: { name?: string; index?: number };
  mapIterationSucceededEventDetails?: { name?: string; index?: number };
  mapIterationFailedEventDetails?: { name?: string; index?: number };
  mapIterationAbortedEventDetails?: { name?: string; index?: number };
  executionStartedEventDetails?: { input?: string };
  /** A Task that started a job (`states:startExecution.sync`): the started execution, in `output`. */
  taskSubmittedEventDetails?: { resource?: string; resourceType?: string; output?: string };
  executionSucceededEventDetails?: { output?: string };
  executionFailedEventDetails?: ErrorDetails;
  executionAbortedEventDetails?: ErrorDetails;
  executionTimedOutEventDetails?: ErrorDetails;
  lambdaFunctionFailedEventDetails?: ErrorDetails;
  lambdaFunctionTimedOutEventDetails?: ErrorDetails;
  lambdaFunctionStartFailedEventDetails?: ErrorDetails;
  lambdaFunctionScheduleFailedEventDetails?: ErrorDetails;
  taskFailedEventDetails?: ErrorDetails;
  taskTimedOutEventDetails?: ErrorDetails;
  taskStartFailedEventDetails?: ErrorDetails;
  taskSubmitFailedEventDetails?: ErrorDetails;
  activityFailedEventDetails?: ErrorDetails;
  activityTimedOutEventDetails?: ErrorDetails;
  activityScheduleFailedEventDetails?: ErrorDetails;
}

/** History event types of a failed attempt of a Task, and where each keeps its error. */
const TASK_FAILURES: Record<string, keyof SfnHistoryEvent> = {
  LambdaFunctionFailed: 'lambdaFunctionFailedEventDetails',
  LambdaFunctionTimedOut: 'lambdaFunctionTimedOutEventDetails',
  LambdaFunctionStartFailed: 'lambdaFunctionStartFailedEventDetails',
  LambdaFunctionScheduleFailed: 'lambdaFunctionScheduleFailedEventDetails',
  TaskFailed: 'taskFailedEventDetails',
  TaskTimedOut: 'taskTimedOutEventDetails',
  TaskStartFailed: 'taskStartFailedEventDetails',
  TaskSubmitFailed: 'taskSubmitFailedEventDetails',
  ActivityFailed: 'activityFailedEventDetails',
  ActivityTimedOut: 'activityTimedOutEventDetails',
  ActivityScheduleFailed: 'activityScheduleFailedEventDetails',
};
/** A new attempt of a Task starts with one of these; after a failure, that means it was retried. */
const TASK_SCHEDULED = new Set(['LambdaFunctionScheduled', 'TaskScheduled', 'ActivityScheduled']);
/** State types as the history names them (`<Type>StateEntered`, `<Type>StateExited`). */
const STATE_EVENT = /^(Task|Choice|Pass|Wait|Succeed|Fail|Map|Parallel)State(Entered|Exited)$/;
/** Events of a Map state itself (not of its iterations). */
const MAP_STATE_EVENTS = new Set([
  'MapStateStarted',
  'MapStateSucceeded',
  'MapStateFailed',
  'MapStateAborted',
]);

interface StateRef {
  name: string;
  type: string;
}

/**
 * Translates history events, in order, as they arrive (one execution per instance).
 *
 * Mapping to local mode's events: `<Type>StateEntered`/`Exited` → `StateEntered`/`StateExited`;
 * a failed Task attempt (`LambdaFunctionFailed`, `…TimedOut`, …) → `StateFailed`; then a new
 * `LambdaFunctionScheduled` for the same state → `StateRetried`, or leaving the state (its
 * `TaskStateExited`, or the next state entered) → `StateCaught`; a `Fail` state → `StateFailed`
 * with the execution's error. The iteration index (`index`) of an event inside a Map comes from
 * its `previousEventId` chain back to `MapIterationStarted`, as the history carries no index on
 * state events.
 */
export class HistoryTranslator {
  private readonly indexById = new Map<number, number | undefined>();
  private readonly current = new Map<string, StateRef>();
  private readonly failed = new Map<string, StateRef>();
  private readonly mapLevels: (number | undefined)[] = [];

  translate(event: SfnHistoryEvent): ProgressEvent[] {
    const type = event.type ?? '';
    const timestamp = event.timestamp?.getTime() ?? 0;
    const index = this.indexOf(event, type);
    if (event.id !== undefined) this.indexById.set(event.id, index);
    const thread = index === undefined ? 'run' : String(index);
    const at = (e: Omit<ProgressEvent, 'timestamp' | 'index'>): ProgressEvent => ({
      ...e,
      timestamp,
      ...(index === undefined ? {} : { index }),
    });

    const stateEvent = STATE_EVENT.exec(type);
    if (stateEvent) {
      const stateType = stateEvent[1] as string;
      if (stateEvent[2] === 'Entered') {
        const name = event.stateEnteredEventDetails?.name ?? '?';
        const out = this.leaveFailed(thread, at);
        this.current.set(thread, { name, type: stateType });
        return [...out, at({ type: 'StateEntered', state: { name, type: stateType } })];
      }
      const name = event.stateExitedEventDetails?.name ?? '?';
      const pending = this.failed.get(thread);
      if (pending && pending.name === name) return this.leaveFailed(thread, at);
      return [
        at({
          type: 'StateExited',
          state: { name, type: stateType, output: parseJson(event.stateExitedEventDetails?.output) },
        }),
      ];
    }
    const failureKey = TASK_FAILURES[type];
    if (failureKey) {
      const state = this.current.get(thread);
      if (!state) return [];
      const details = event[failureKey] as ErrorDetails | undefined;
      this.failed.set(thread, state);
      return [at({ type: 'StateFailed', state, Error: details?.error ?? type, Cause: details?.cause ?? '' })];
    }
    if (TASK_SCHEDULED.has(type)) {
      const pending = this.failed.get(thread);
      if (!pending) return [];
      this.failed.delete(thread);
      return [at({ type: 'StateRetried', state: pending })];
    }
    if (type === 'ExecutionFailed' || type === 'ExecutionTimedOut' || type === 'ExecutionAborted') {
      const details =
        event.executionFailedEventDetails ??
        event.executionTimedOutEventDetails ??
        event.executionAbortedEventDetails;
      const state = this.current.get('run');
      const out: ProgressEvent[] = [];
      if (state?.type === 'Fail') {
        out.push(
          at({ type: 'StateFailed', state, Error: details?.error ?? type, Cause: details?.cause ?? '' }),
        );
      }
      out.push(at({ type, Error: details?.error ?? type, Cause: details?.cause ?? '' }));
      return out;
    }
    return [at({ type })];
  }

  /** Leave a state whose last attempt failed: it was caught (local mode: StateCaught, then StateExited). */
  private leaveFailed(
    thread: string,
    at: (e: Omit<ProgressEvent, 'timestamp' | 'index'>) => ProgressEvent,
  ): ProgressEvent[] {
    const pending = this.failed.get(thread);
    if (!pending) return [];
    this.failed.delete(thread);
    return [at({ type: 'StateCaught', state: pending }), at({ type: 'StateExited', state: pending })];
  }

  /** The Map iteration an event belongs to. */
  private indexOf(event: SfnHistoryEvent, type: string): number | undefined {
    if (type.startsWith('MapIteration')) {
      const d =
        event.mapIterationStartedEventDetails ??
        event.mapIterationSucceededEventDetails ??
        event.mapIterationFailedEventDetails ??
        event.mapIterationAbortedEventDetails;
      return d?.index;
    }
    const inherited =
      event.previousEventId === undefined ? undefined : this.indexById.get(event.previousEventId);
    if (type === 'MapStateEntered') {
      this.mapLevels.push(inherited);
      return inherited;
    }
    if (MAP_STATE_EVENTS.has(type)) return this.mapLevels[this.mapLevels.length - 1];
    if (type === 'MapStateExited') return this.mapLevels.pop();
    return inherited;
  }
}

/** A JSON field of a history event (input, output, cause), or undefined when absent or not JSON. */
export function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
