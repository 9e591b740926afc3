import type { ProgressEvent, ProgressPrinter } from '../local/progress';
import { HistoryTranslator, parseJson, type SfnHistoryEvent } from './history-events';

/**
 * Following a renewal run on AWS the way local mode prints it: the run's own execution and the
 * batch executions its RunBatch Task starts (`states:startExecution.sync:2`), each read with
 * GetExecutionHistory and printed through its own printer (the run's, or
 * `printer.forBatch(certificates, 'batch N')` as local/run-local.ts does).
 *
 * Where a batch comes from: when RunBatch has started its child, the run's history records
 * `TaskSubmitted`, whose `taskSubmittedEventDetails.output` is the StartExecution response
 * ("The response from a resource when a task has started", API reference,
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_TaskSubmittedEventDetails.html).
 * AWS writes its fields as the service's SDK does, `{"ExecutionArn": "...", "StartDate": ...,
 * "SdkHttpMetadata": {...}, "SdkResponseMetadata": {...}}`: recorded against AWS in
 * localstack/localstack tests/aws/services/stepfunctions/v2/callback/test_callback.snapshot.json
 * ("test_start_execution_sync", resource `startExecution.sync`, resourceType `states`).
 * `executionArn` (the StartExecution API's own spelling) is read too.
 *
 * Order: each poll reads the run, then every batch still running, and prints what is new in
 * time order. The run's events are printed in order, and one that reports a batch's end (the
 * RunBatch Task's TaskSucceeded/TaskFailed) waits until that end has been read in the batch's
 * history, so a batch's certificates always come before the run's line for it, and the next
 * batch (found from the run's TaskSubmitted after it) after them, however the polls fall.
 */

/** Where the histories come from (lambdas/adapters/aws/step-functions.ts `StepFunctionsExecutions`). */
export interface HistorySource {
  /** The events after event id `afterId`, oldest first. */
  eventsAfter(executionArn: string, afterId: number): Promise<SfnHistoryEvent[]>;
}

const TERMINAL = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);
/** Events of the run that report a child's end (`.sync`: the Task ends when the child does). */
const CHILD_ENDED = new Set(['TaskSucceeded', 'TaskFailed']);

interface Followed {
  arn: string;
  /** What its own states are labelled with: `run`, or `batch N`. */
  label: string;
  translator: HistoryTranslator;
  lastId: number;
  ended: boolean;
  printer: ProgressPrinter;
}

/** What one event of the run's history adds, kept until it may be printed. */
interface Held {
  events: ProgressEvent[];
  /** The batch this event says its Map iteration started (TaskSubmitted). */
  starts?: { arn: string; iteration: number | undefined };
  /** This event reports the end of the batch its Map iteration started: print it after that end. */
  awaits?: { iteration: number | undefined };
}

interface Fresh {
  event: ProgressEvent;
  printer: ProgressPrinter;
  run: boolean;
}

export class ExecutionFollower {
  /** The run's events (translated), in order: its summary and run-level failure come from these. */
  readonly runEvents: ProgressEvent[] = [];
  /** Every event printed, the run's and its batches' (the report's details come from these). */
  readonly allEvents: ProgressEvent[] = [];
  private readonly run: Followed;
  private readonly batches: Followed[] = [];
  /** The batch each iteration of the run's Map started, by iteration. */
  private readonly batchByIteration = new Map<number | undefined, Followed>();
  /** The run's events not yet printed (behind a batch that has not ended). */
  private held: Held[] = [];

  constructor(
    private readonly source: HistorySource,
    runArn: string,
    private readonly printer: ProgressPrinter,
  ) {
    this.run = {
      arn: runArn,
      label: 'run',
      translator: new HistoryTranslator(),
      lastId: 0,
      ended: false,
      printer,
    };
  }

  /** The batch executions found so far (ARNs, in the order they were started). */
  get batchArns(): string[] {
    return this.batches.map((b) => b.arn);
  }

  /**
   * Read what is new in the run's history and in every running batch's, and print it.
   * @returns the run's end event (ExecutionSucceeded, …Failed, …TimedOut, …Aborted) once printed.
   * @throws what reading a history threw (ExecutionFollowError), after printing what came before.
   */
  async poll(): Promise<ProgressEvent | undefined> {
    for (const raw of await this.read(this.run)) {
      const events = this.run.translator.translate(raw);
      const iteration = events[0]?.index;
      const arn = raw.type === 'TaskSubmitted' ? startedExecutionArn(raw) : undefined;
      this.held.push({
        events,
        ...(arn ? { starts: { arn, iteration } } : {}),
        ...(CHILD_ENDED.has(raw.type ?? '') ? { awaits: { iteration } } : {}),
      });
    }
    // What is new, in an order that respects cause and effect: the batches' events, then the
    // run's, up to one that starts a batch (whose events follow it) or waits for a batch's end.
    const fresh: Fresh[] = [];
    const polled = new Set<Followed>();
    let failed: { error: unknown } | undefined;
    try {
      do {
        for (const batch of this.batches) {
          if (batch.ended || polled.has(batch)) continue;
          polled.add(batch);
          await this.readBatch(batch, fresh);
        }
      } while (this.release(fresh));
    } catch (error) {
      // A batch's history could not be read (e.g. no permission): print what came before it.
      failed = { error };
    }
    // In time order; events of the same millisecond stay in that order (the sort is stable).
    fresh.sort((a, b) => a.event.timestamp - b.event.timestamp);
    let end: ProgressEvent | undefined;
    for (const { event, printer, run } of fresh) {
      printer.handle(event);
      this.allEvents.push(event);
      if (!run) continue;
      this.runEvents.push(event);
      if (TERMINAL.has(event.type)) end = event;
    }
    if (failed) throw failed.error;
    return end;
  }

  private async read(followed: Followed): Promise<SfnHistoryEvent[]> {
    const events = await this.source.eventsAfter(followed.arn, followed.lastId);
    for (const e of events) followed.lastId = Math.max(followed.lastId, e.id ?? 0);
    return events;
  }

  private async readBatch(batch: Followed, fresh: Fresh[]): Promise<void> {
    for (const raw of await this.read(batch)) {
      if (raw.type === 'ExecutionStarted')
        batch.printer = this.printer.forBatch(certificatesOf(raw), batch.label);
      for (const event of batch.translator.translate(raw))
        fresh.push({ event, printer: batch.printer, run: false });
      if (TERMINAL.has(raw.type ?? '')) batch.ended = true;
    }
  }

  /**
   * Move the run's held events to `fresh`, up to one that reports the end of a batch still
   * running. Stops after an event that starts a batch not followed yet: returns true then.
   */
  private release(fresh: Fresh[]): boolean {
    while (this.held.length > 0) {
      const h = this.held[0] as Held;
      if (h.awaits) {
        const batch = this.batchByIteration.get(h.awaits.iteration);
        if (batch && !batch.ended) return false;
      }
      this.held.shift();
      for (const event of h.events) fresh.push({ event, printer: this.printer, run: true });
      if (h.starts && this.startFollowing(h.starts.arn, h.starts.iteration)) return true;
    }
    return false;
  }

  /**
   * Follow the batch started by the run's Map iteration `iteration` (batch `iteration + 1`).
   * @returns whether it is a batch not followed before.
   */
  private startFollowing(arn: string, iteration: number | undefined): boolean {
    let batch = this.batches.find((b) => b.arn === arn);
    const isNew = batch === undefined;
    if (!batch) {
      const label = `batch ${(iteration ?? this.batches.length) + 1}`;
      batch = {
        arn,
        label,
        translator: new HistoryTranslator(),
        lastId: 0,
        ended: false,
        // until its ExecutionStarted names the certificates
        printer: this.printer.forBatch([], label),
      };
      this.batches.push(batch);
    }
    this.batchByIteration.set(iteration, batch);
    return isNew;
  }
}

/** A batch's certificates by iteration: its execution's input `batch` (what IssueEach iterates over). */
function certificatesOf(started: SfnHistoryEvent): string[] {
  const input = parseJson(started.executionStartedEventDetails?.input) as { batch?: unknown } | undefined;
  if (!Array.isArray(input?.batch)) return [];
  return input.batch.map((b: { certificate?: unknown }) => String(b?.certificate));
}

/** The ARN of the execution a `states:startExecution` Task started, from its TaskSubmitted event. */
export function startedExecutionArn(event: SfnHistoryEvent): string | undefined {
  const details = event.taskSubmittedEventDetails;
  if (details?.resourceType !== 'states' || !details.resource?.startsWith('startExecution')) return undefined;
  const output = parseJson(details.output) as { ExecutionArn?: unknown; executionArn?: unknown } | undefined;
  const arn = output?.ExecutionArn ?? output?.executionArn;
  return typeof arn === 'string' ? arn : undefined;
}
