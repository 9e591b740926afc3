/**
 * The JSON that flows between states. Everything here lands in the execution history, so
 * nothing here may ever hold a private key, an account key, a TSIG secret or an EAB key.
 */
import type { CertificateFailure, RunSummary, StoredLocation, ValuesLeftBehind } from './ports';

/** The names of the Task states; each has one handler in `lambdas/handlers/`. */
export const TASK_STEPS = [
  'SelectDue',
  'CreateOrder',
  'PublishRecords',
  'CheckPropagation',
  'AnswerChallenges',
  'CheckOrder',
  'FinalizeAndStore',
  'Cleanup',
  'RecordFailure',
  'Summarize',
] as const;
export type TaskStep = (typeof TASK_STEPS)[number];

/** Input of a renewal run (scheduled: `{}`; manual: `{"certificates": ["name"], "force": true}`). */
export interface RunInput {
  certificates?: string[];
  force?: boolean;
  /** Issue from a test CA and store nothing (lambdas/core/renewal/dry-run.ts). */
  dryRun?: boolean;
  /** The execution (`$$.Execution.Id`), when the state machine passes it: it tags the logs. */
  executionId?: string;
}

export interface Timing {
  propagationIntervalSeconds: number;
  propagationMaxChecks: number;
  orderIntervalSeconds: number;
  orderMaxChecks: number;
}

export interface DueCertificate {
  certificate: string;
  reason: string;
}

/** A certificate that is due but waits for a later run (the CA's new-order limit). */
export interface DeferredCertificate {
  certificate: string;
  /** The earliest ISO time a run may place its order. */
  until: string;
}

/**
 * Bounds on what one run carries per certificate, so a thousand certificates' names and dates
 * fit Step Functions' 256 KiB state payload (lambdas/core/execution-limits.ts computes the worst
 * case from them): reasons are cut short (the full reason is logged), and failures and warnings
 * are listed in full only up to a bound and counted beyond it (each was alerted on its own).
 */
export const PAYLOAD_BOUNDS = {
  /** Characters of a due or skipped certificate's reason carried in the selection (not in outcomes). */
  reasonChars: 112,
  /** Characters of a failure's or a deferral's message carried in a summary (alerts and logs have it whole). */
  messageChars: 400,
  /** Failures listed per run; each batch lists its share ({@link listingFor}). */
  failuresPerRun: 50,
  /** Cleanup warnings listed per run (each names its first record only); each batch its share. */
  warningsPerRun: 25,
  /** Not-due certificates listed by name. */
  skippedListed: 100,
  /** Sweep removals listed (the rest counted). */
  sweptListed: 25,
  /**
   * UTF-8 bytes of a failed batch's `error` (`{"Error","Cause"}` as JSON) in the run's state:
   * BatchFailed keeps the child execution's own error and cause, cut to fit, never its input.
   */
  batchErrorBytes: 1_000,
} as const;

/** How many failures and warnings each batch lists in full (the rest it counts). */
export interface SummaryListing {
  failures: number;
  warnings: number;
}

/**
 * Each batch's share of the run's lists: a one-batch run lists as many as the run does; with
 * many batches each lists at least one, so the run still sees an example from every batch.
 */
export function listingFor(batches: number): SummaryListing {
  const share = (perRun: number) => Math.max(1, Math.floor(perRun / Math.max(1, batches)));
  return { failures: share(PAYLOAD_BOUNDS.failuresPerRun), warnings: share(PAYLOAD_BOUNDS.warningsPerRun) };
}

/** Cut `text` to `max` characters, marking the cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * Cut a reason such as `stored certificate is broken (local: /srv/certs/live/www: cannot read
 * cert.pem: ENOENT: ..., open '/srv/certs/live/www/cert.pem')` to `max` characters keeping what
 * says most: absolute paths shortened to their last part (`.../www`), then, if still too long,
 * the verdict before ` (` and the end of its detail.
 */
export function clipReason(reason: string, max: number = PAYLOAD_BOUNDS.reasonChars): string {
  if (reason.length <= max) return reason;
  const short = reason.replace(
    /(?<![\w.])(?:\/[^/\s'"():]+){2,}/g,
    (path) => `.../${path.slice(path.lastIndexOf('/') + 1)}`,
  );
  if (short.length <= max) return short;
  const open = short.indexOf(' (');
  if (open < 0 || open > max / 2) return clip(short, max);
  const head = short.slice(0, open);
  const room = max - head.length - ' (...'.length;
  return `${head} (...${short.slice(short.length - room)}`;
}

/** Output of SelectDue (at `$.selection`). */
export interface Selection {
  /** The execution, when the run input carried it: Summarize's logs name it too. */
  executionId?: string;
  runId: string;
  /** When SelectDue ran (ISO): a certificate stored since then was issued by this run. */
  startedAt: string;
  /** The ACME directory this run orders from (a test CA's in a dry run). */
  directoryUrl: string;
  /** A dry run: issue, check and store nothing. */
  dryRun: boolean;
  accountUrl: string;
  /**
   * The due certificates, in batches: each batch is issued by one child execution
   * (IssueBatch), sized so its history stays well inside Step Functions' 25,000-event quota
   * (lambdas/core/execution-limits.ts).
   */
  batches: DueCertificate[][];
  /** How many certificates are in `batches`. */
  dueCount: number;
  /** How many failures and warnings each batch lists in full. */
  listing: SummaryListing;
  /** Not due, with the reason (the first {@link SKIPPED_LISTED}; `skippedCount` counts all). */
  skipped: DueCertificate[];
  skippedCount: number;
  /** Due, but deferred to a later run by the new-order budget or a CA block. */
  deferred: DeferredCertificate[];
  /** Why they were deferred (one reason for the run: the budget's state). */
  deferredReason?: string;
  /**
   * Certificates whose stores could not be consulted (e.g. the store directory cannot exist);
   * each fails alone, and Summarize reports it with the others' failures.
   */
  failed?: CertificateFailure[];
  timing: Timing;
}

/** How many not-due certificates a selection lists by name (the rest are counted), to keep it small. */
export const SKIPPED_LISTED = PAYLOAD_BOUNDS.skippedListed;

/** One TXT value to publish for one authorization. */
export interface ChallengeRecord {
  /** The certificate identifier, e.g. `*.example.com`. */
  domain: string;
  /** `_acme-challenge.<name>` in the primary zone. */
  challengeName: string;
  /** Where the CNAME chain lands: the name written in the delegated zone. */
  fqdn: string;
  /** base64url(SHA-256(key authorization)), RFC 8555 §8.4. Public by design. */
  value: string;
  authorizationUrl: string;
  challengeUrl: string;
}

/** Output of CreateOrder (at `$.order`). */
export interface OrderState {
  url: string;
  /** The directory the order was placed with (the run's). */
  directoryUrl?: string;
  accountUrl: string;
  domains: string[];
  keyType: string;
  records: ChallengeRecord[];
}

/** The per-certificate item inside the Map. Each Task adds its result under its own key. */
export interface CertificateItem {
  certificate: string;
  reason?: string;
  runId: string;
  /** The execution running this item (`$$.Execution.Id`): the owner of the TXT values it writes. */
  executionId?: string;
  /** The run's ACME directory (SelectDue's; a test CA's in a dry run). */
  directoryUrl?: string;
  /** A dry run: FinalizeAndStore checks the certificate and stores nothing. */
  dryRun?: boolean;
  accountUrl: string;
  timing: Timing;
  order?: OrderState;
  /** PublishRecords' output: `publishedAt` (ISO) times the propagation metric. */
  publication?: { changeTokens: string[]; publishedAt?: string };
  /** CheckPropagation's output; `leftOut`: server addresses this host cannot reach (e.g. IPv6 on Lambda). */
  propagation?: { ready: boolean; checks: number; waitingFor?: string[]; leftOut?: string[] };
  answered?: { challenges: number };
  orderStatus?: { status: string; checks: number };
  issued?: IssuedSummary;
  cleanup?: { removed: number };
  /** Set by Catch: `{Error, Cause}`. */
  error?: { Error: string; Cause?: string };
  failedStep?: string;
  cleanupError?: { Error: string; Cause?: string };
}

/** Output of FinalizeAndStore (at `$.issued`): public facts only. */
export interface IssuedSummary {
  certificate: string;
  domains: string[];
  keyType: string;
  serial: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  locations: StoredLocation[];
  /** Issued by a dry run: checked, and stored nowhere. */
  dryRun?: boolean;
}

/** What each Map iteration ends with. */
export type CertificateResult =
  | {
      certificate: string;
      status: 'issued';
      issued: IssuedSummary;
      /** Set when Cleanup failed after the certificate was stored: its error and the values it wrote. */
      cleanupError?: { Error: string; Cause?: string };
      leftRecords?: { fqdn: string; value: string }[];
    }
  | { certificate: string; status: 'failed'; step: string; error: { Error: string; Cause?: string } };

/** Input of the run-start sweep (the Cleanup function, before SelectDue). */
export interface SweepInput {
  sweep: true;
  /** The execution sweeping (its own values are never swept). */
  executionId: string;
  /** Also treat this execution as over (local mode: the run being interrupted sweeps itself). */
  alsoOver?: string;
}

/** What a sweep found: values whose run was over, removed; and what it could not decide. */
export interface SweepResult {
  /**
   * The first {@link PAYLOAD_BOUNDS.sweptListed} removals (`removedCount` counts them all);
   * `reason`: why the owning run counts as over (its process is gone, its execution ended, ...).
   */
  removed: { fqdn: string; values: number; certificate: string; executionId: string; reason: string }[];
  removedCount?: number;
  /** Values whose run is still going (left alone). */
  stillRunning: number;
  /** Values whose owner could not be checked (left for a later run). */
  undecided: number;
}

/** What one batch (child execution) reports to the run: compact, so many batches fit one payload. */
export interface BatchSummary {
  /** Names and dates only (why each was due is in the selection and SelectDue's log). */
  issued: { certificate: string; notAfter: string }[];
  /** The failures, in full up to the batch's {@link SummaryListing} (each was alerted on its own already). */
  failed: CertificateFailure[];
  /** How many failed, listed or not. */
  failedCount: number;
  /** Up to the batch's {@link SummaryListing}; `warningCount` counts them all. */
  warnings: ValuesLeftBehind[];
  warningCount: number;
  /** Deferred inside the batch: the CA answered rateLimited at CreateOrder. */
  deferred: DeferredCertificate[];
  /** The CA's answer, once for the batch. */
  deferredReason?: string;
}

/**
 * A batch whose child execution failed as a whole (its certificates' outcomes are unknown). Its
 * `error` as the run's state carries it is at most {@link PAYLOAD_BOUNDS}.batchErrorBytes of
 * JSON: BatchFailed (the Summarize function) reduces the Catch's `{Error, Cause}` to it.
 */
export interface BatchFailure {
  batchFailed: true;
  certificates: string[];
  error: { Error: string; Cause?: string };
}

/** SummarizeBatch's input: one child execution's Map results. */
export interface BatchSummarizeInput {
  summarizeBatch: true;
  results: CertificateResult[];
  /** This batch's share of the run's lists (default: the run's whole lists). */
  listing?: SummaryListing;
}

/**
 * The selection once the batches have run: IssueBatches writes each batch's outcome over the
 * batch's list (ResultPath `$.selection.batches`), so the run carries each certificate once.
 */
export type SelectionWithOutcomes = Omit<Selection, 'batches'> & {
  batches: (BatchSummary | BatchFailure)[];
};

/** Summarize's input: the run's state after IssueBatches (the selection with outcomes, the sweep). */
export interface SummarizeInput {
  selection: SelectionWithOutcomes;
  sweep?: SweepResult;
  /** Set when the run-start sweep failed (Catch). */
  sweepError?: { Error: string; Cause?: string };
}

export type { CertificateFailure, RunSummary };
