/**
 * Step Functions' per-execution limits, counted on a local run as AWS counts them.
 *
 * AWS limits (Step Functions service quotas; "Avoid reaching the history quota"):
 * - 25,000 events in one execution's history; when event 25,000 is not ExecutionSucceeded the
 *   execution fails;
 * - 256 KiB for a state's input or output (and a task's result): `States.DataLimitExceeded`, a
 *   terminal error that `States.ALL` does not catch.
 *
 * The local executor (aws-local-stepfunctions) logs fewer, coarser events than AWS's history
 * (API reference, `HistoryEvent` types). {@link awsHistoryEvents} maps each local event to the
 * AWS history events it stands for:
 *
 * | local event                        | AWS history events                                            |
 * |------------------------------------|---------------------------------------------------------------|
 * | ExecutionStarted                   | ExecutionStarted (1)                                          |
 * | ExecutionSucceeded/Failed/…        | ExecutionSucceeded/Failed/Aborted/TimedOut (1)                |
 * | StateEntered, Task                 | TaskStateEntered, TaskScheduled, TaskStarted (3)              |
 * | StateExited, Task                  | TaskSucceeded, TaskStateExited (2)                            |
 * | StateRetried, Task                 | TaskFailed, then TaskScheduled, TaskStarted (3)               |
 * | StateFailed, Task                  | TaskFailed (1)                                                |
 * | StateEntered, Map                  | MapStateEntered, MapStateStarted (2)                          |
 * | StateExited, Map                   | MapStateSucceeded, MapStateExited (2)                         |
 * | StateFailed, Map                   | MapStateFailed (1)                                            |
 * | MapIterationStarted / Succeeded/…  | MapIterationStarted / MapIterationSucceeded/Failed (1 each)   |
 * | StateEntered/Exited, Pass, Choice, Wait, Succeed | <Type>StateEntered / <Type>StateExited (1 each) |
 * | StateEntered, Fail                 | FailStateEntered (1)                                          |
 *
 * So a Lambda Task that succeeds costs 5 events, as on AWS; a Task that starts a child execution
 * and waits for it (`startExecution.sync:2`) costs 6 (TaskSubmitted too). Each child execution
 * has its own history, counted and limited on its own.
 */
import type { EventLog } from './execute';

export { HISTORY_EVENT_LIMIT, PAYLOAD_LIMIT_BYTES } from '../lib/state-machine/limits';

/**
 * How many AWS history events one local event stands for. A Task that starts a child execution
 * and waits for it (`startExecution.sync`) also records TaskSubmitted: one more on entering.
 */
export function awsHistoryEvents(event: EventLog, syncTasks: ReadonlySet<string> = new Set()): number {
  switch (event.type) {
    case 'ExecutionStarted':
    case 'ExecutionSucceeded':
    case 'ExecutionFailed':
    case 'ExecutionAborted':
    case 'ExecutionTimeout':
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed':
    case 'ParallelBranchStarted':
    case 'ParallelBranchSucceeded':
    case 'ParallelBranchFailed':
      return 1;
    case 'StateCaught':
      return 0;
    case 'StateRetried':
      return event.state.type === 'Task' ? 3 : 1;
    case 'StateFailed':
      return event.state.type === 'Fail' ? 0 : 1;
    case 'StateEntered':
      if (event.state.type === 'Task') return syncTasks.has(event.state.name) ? 4 : 3;
      if (event.state.type === 'Map' || event.state.type === 'Parallel') return 2;
      return 1;
    case 'StateExited':
      if (event.state.type === 'Task' || event.state.type === 'Map' || event.state.type === 'Parallel')
        return 2;
      return event.state.type === 'Fail' ? 0 : 1;
  }
}

/** The size in bytes of a JSON value as Step Functions measures payloads (UTF-8 JSON). */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

/** Running count of an execution's AWS history events, in total and per Map iteration. */
export class HistoryCounter {
  total = 0;

  /** `syncTasks`: the Task states that start a child execution and wait for it. */
  constructor(private readonly syncTasks: ReadonlySet<string> = new Set()) {}

  /** Events inside each Map iteration (by item index), including its start/end events. */
  readonly perIteration = new Map<number, number>();
  /** The largest state input/output seen, in bytes, and where. */
  largestPayload = { bytes: 0, state: '' };

  /** Task states (by iteration and name) whose failure was caught: they exit without succeeding. */
  private readonly caught = new Set<string>();

  add(event: EventLog): number {
    let n = awsHistoryEvents(event, this.syncTasks);
    if ('state' in event && event.state) {
      const key = `${'index' in event ? event.index : ''}:${event.state.name}`;
      if (event.type === 'StateCaught') this.caught.add(key);
      // The emulator logs an exit after a caught failure; AWS records no TaskSucceeded for it.
      if (event.type === 'StateExited' && this.caught.delete(key) && event.state.type === 'Task') n = 1;
    }
    this.total += n;
    const index = 'index' in event ? event.index : undefined;
    if (index !== undefined) this.perIteration.set(index, (this.perIteration.get(index) ?? 0) + n);
    if ('state' in event && (event.type === 'StateEntered' || event.type === 'StateExited')) {
      const value = event.type === 'StateEntered' ? event.state.input : event.state.output;
      const bytes = payloadBytes(value);
      if (bytes > this.largestPayload.bytes) this.largestPayload = { bytes, state: event.state.name };
    }
    return n;
  }
}
