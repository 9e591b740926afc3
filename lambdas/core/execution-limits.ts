/**
 * Step Functions' per-execution limits and what one certificate costs against them.
 *
 * - 25,000 events in one execution's history: a hard quota; when event number 25,000 is not
 *   ExecutionSucceeded, the execution fails (Step Functions developer guide, "Avoid reaching
 *   the history quota").
 * - 256 KiB for a state's input or output: `States.DataLimitExceeded`, a terminal error that
 *   `States.ALL` does not catch ("Handling errors in Step Functions workflows").
 */
import { PAYLOAD_BOUNDS, type Timing } from './state';

/** AWS's hard quota of history events per execution. */
export const HISTORY_EVENT_LIMIT = 25_000;
/** AWS's quota on a state's input or output, in bytes (256 KiB). */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;
/** The share of the history quota a run plans to use; the rest is headroom. */
export const HISTORY_HEADROOM = 0.9;

/** History events of a Lambda Task that succeeds at once: TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited. */
export const TASK_EVENTS = 5;
/** A Choice, Wait or Pass state: <Type>StateEntered, <Type>StateExited. */
export const FLOW_STATE_EVENTS = 2;
/** One retry of a Task: TaskFailed, TaskScheduled, TaskStarted. */
export const RETRY_EVENTS = 3;

/**
 * The run's own events, besides its batches: ExecutionStarted, SelectDue (Task), SweepLeftovers
 * (Task), IssueBatches (MapStateEntered, MapStateStarted, MapStateSucceeded, MapStateExited),
 * Summarize (Task), AllIssued? (Choice), the end state, ExecutionSucceeded/Failed.
 */
export const RUN_OVERHEAD_EVENTS =
  1 + TASK_EVENTS + TASK_EVENTS + 4 + TASK_EVENTS + FLOW_STATE_EVENTS + FLOW_STATE_EVENTS + 1;

/** Retries one certificate may use before its budget is exceeded (one per Task of the success path). */
export const RETRY_ALLOWANCE = 6;

/**
 * The most history events one certificate can use in the IssueEach Map, at the configured
 * maximum checks: its iteration (MapIterationStarted/Succeeded), CreateOrder, PublishRecords,
 * up to `propagationMaxChecks` × (CheckPropagation + RecordsVisible?) with a Wait between checks,
 * AnswerChallenges, up to `orderMaxChecks` × (CheckOrder + OrderReady?) with Waits, FinalizeAndStore,
 * Cleanup, CertificateIssued, plus {@link RETRY_ALLOWANCE} retries:
 * `25 + 9 × (propagationMaxChecks + orderMaxChecks) + 18`. The failure path (…, <Step>Failed,
 * CleanupAfterFailure, RecordFailure, CertificateFailed) costs no more.
 */
export function certificateEventBudget(
  timing: Pick<Timing, 'propagationMaxChecks' | 'orderMaxChecks'>,
): number {
  const checks = timing.propagationMaxChecks + timing.orderMaxChecks;
  const loop = TASK_EVENTS + FLOW_STATE_EVENTS; // check + choice
  const waits = FLOW_STATE_EVENTS * (checks - 2); // a Wait between consecutive checks, per loop
  const straight = 2 + 5 * TASK_EVENTS + FLOW_STATE_EVENTS; // iteration, five one-shot Tasks, CertificateIssued
  return straight + loop * checks + waits + RETRY_ALLOWANCE * RETRY_EVENTS;
}

/**
 * The events of an IssueBatch child execution besides its certificates: ExecutionStarted,
 * IssueEach (4), SummarizeBatch (Task), ExecutionSucceeded.
 */
export const BATCH_OVERHEAD_EVENTS = 1 + 4 + TASK_EVENTS + 1;

/**
 * The run's events per batch: the IssueBatches Map iteration (2) and its Task that starts the
 * child and waits for it (`startExecution.sync:2`: TaskStateEntered, TaskScheduled, TaskStarted,
 * TaskSubmitted, TaskSucceeded, TaskStateExited).
 */
export const RUN_EVENTS_PER_BATCH = 2 + 6;

/** Retries of a Lambda Task on certflow's transient errors, and on Lambda's service errors (lib/state-machine/definition.ts). */
export const STEP_RETRIES = { transient: 3, service: 4 } as const;

/**
 * The run's further events for a batch that fails as a whole, at most: BatchFailed (a Lambda
 * Task that bounds the failure's cause) with every retry it may make, and when it fails after
 * them, BatchFailedUnread (a Pass).
 */
export const BATCH_FAILED_EVENTS =
  TASK_EVENTS + (STEP_RETRIES.transient + STEP_RETRIES.service) * RETRY_EVENTS + FLOW_STATE_EVENTS;

/** The events a run (or batch) may plan to use: the quota less headroom. */
const PLANNED = Math.floor(HISTORY_EVENT_LIMIT * HISTORY_HEADROOM);

/**
 * How many certificates one IssueBatch child execution issues: as many as fit
 * {@link HISTORY_HEADROOM} of the quota at their worst-case budget (at least one). The batch
 * size follows from the timing, never guessed: 20 at the default 60 + 60 checks.
 */
export function certificatesPerBatch(
  timing: Pick<Timing, 'propagationMaxChecks' | 'orderMaxChecks'>,
): number {
  return Math.max(1, Math.floor((PLANNED - BATCH_OVERHEAD_EVENTS) / certificateEventBudget(timing)));
}

/** Whether one certificate's worst-case budget fits what a batch may plan to use. */
export function certificateFitsABatch(
  timing: Pick<Timing, 'propagationMaxChecks' | 'orderMaxChecks'>,
): boolean {
  return certificateEventBudget(timing) + BATCH_OVERHEAD_EVENTS <= PLANNED;
}

/** How many certificates one run can issue: the batches the run's own history holds, times the batch size. */
export function maxCertificatesPerRun(
  timing: Pick<Timing, 'propagationMaxChecks' | 'orderMaxChecks'>,
): number {
  // Counted as if every batch failed as a whole (RunBatch caught, then BatchFailed).
  const batches = Math.floor((PLANNED - RUN_OVERHEAD_EVENTS) / (RUN_EVENTS_PER_BATCH + BATCH_FAILED_EVENTS));
  return batches * certificatesPerBatch(timing);
}

/** The payload a run may plan to use: the 256 KiB quota less headroom. */
export const PLANNED_PAYLOAD_BYTES = Math.floor(PAYLOAD_LIMIT_BYTES * HISTORY_HEADROOM);

/** The longest certificate name the configuration allows. */
const MAX_NAME = 63;
/** The longest DNS name (RFC 1035 §2.3.4). */
const MAX_FQDN = 253;
/** A due certificate in the selection: `{"certificate":"<name>","reason":"<reason>"},` beyond the name. */
const DUE_ENTRY = 30 + PAYLOAD_BOUNDS.reasonChars;
/** An issued certificate in a batch's outcome: `{"certificate":"<name>","notAfter":"<ISO>"},` beyond the name. */
const ISSUED_ENTRY = 55;
/** A listed failure: names, step, error name and the message cut to `messageChars`. */
const FAILURE_ENTRY = MAX_NAME + 150 + PAYLOAD_BOUNDS.messageChars;
/** A listed warning: name, error, message and its first record's name. */
const WARNING_ENTRY = MAX_NAME + 150 + PAYLOAD_BOUNDS.messageChars + MAX_FQDN;
/** A batch outcome's fixed fields (counts, empty lists). */
const BATCH_OUTCOME = 120;
/**
 * A failed batch in place of its outcome, beyond its names (each quoted, within an issued
 * entry's bytes): `{"batchFailed":true,"certificates":[…],"error":…}`, the error bounded by
 * BatchFailed.
 */
const BATCH_FAILURE = 60 + PAYLOAD_BOUNDS.batchErrorBytes;
/**
 * What a batch's outcome is counted at besides its issued entries: its fixed fields and its
 * share of the listed failures and warnings, at least one of each ({@link listingFor}). A
 * failed batch lists none, so its record takes the place of at least this much.
 */
const BATCH_OUTCOME_COUNTED = BATCH_OUTCOME + FAILURE_ENTRY + WARNING_ENTRY;
/**
 * What every run state carries besides its certificates: the selection's fields (run id, account
 * URL, timing, execution ARN), the listed not-due certificates, the sweep's listed removals, the
 * deferral reason and Step Functions' own wrapping.
 */
const RUN_FIXED =
  2048 +
  PAYLOAD_BOUNDS.skippedListed * (MAX_NAME + DUE_ENTRY) +
  PAYLOAD_BOUNDS.sweptListed * (MAX_FQDN + MAX_NAME + 250) +
  PAYLOAD_BOUNDS.messageChars;

/**
 * The largest state a run can carry with these certificates all due, in bytes: before its
 * batches run, the selection lists every certificate with its reason; after, each batch's
 * outcome has replaced its list (names and dates, a bounded number of failures and warnings;
 * or, for a batch that failed as a whole, its names and its error bounded by BatchFailed).
 * Computed from the names configured, so a deployment is refused at synth rather than failing
 * with `States.DataLimitExceeded` on the day everything is due.
 */
export function runStateBytesBound(
  names: readonly string[],
  timing: Pick<Timing, 'propagationMaxChecks' | 'orderMaxChecks'>,
): number {
  const nameBytes = names.reduce((sum, n) => sum + Buffer.byteLength(n), 0);
  const batches = Math.ceil(names.length / certificatesPerBatch(timing));
  const before = nameBytes + names.length * DUE_ENTRY;
  // Each batch lists its share of the run's failures and warnings, at least one of each.
  const after =
    nameBytes +
    names.length * ISSUED_ENTRY +
    batches * (BATCH_OUTCOME + Math.max(0, BATCH_FAILURE - BATCH_OUTCOME_COUNTED)) +
    Math.max(batches, PAYLOAD_BOUNDS.failuresPerRun) * FAILURE_ENTRY +
    Math.max(batches, PAYLOAD_BOUNDS.warningsPerRun) * WARNING_ENTRY;
  return RUN_FIXED + Math.max(before, after);
}
