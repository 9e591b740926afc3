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
  reason: string;
}

/** Output of SelectDue (at `$.selection`). */
export interface Selection {
  /** The execution, when the run input carried it: Summarize's logs name it too. */
  executionId?: string;
  runId: string;
  /** When SelectDue ran (ISO): a certificate stored since then was issued by this run. */
  startedAt: string;
  accountUrl: string;
  /**
   * The due certificates, in batches: each batch is issued by one child execution
   * (IssueBatch), sized so its history stays well inside Step Functions' 25,000-event quota
   * (lambdas/core/execution-limits.ts).
   */
  batches: DueCertificate[][];
  /** How many certificates are in `batches`. */
  dueCount: number;
  /** Not due, with the reason (the first {@link SKIPPED_LISTED}; `skippedCount` counts all). */
  skipped: DueCertificate[];
  skippedCount: number;
  /** Due, but deferred to a later run by the new-order budget or a CA block. */
  deferred: DeferredCertificate[];
  /**
   * Certificates whose stores could not be consulted (e.g. the store directory cannot exist);
   * each fails alone, and Summarize reports it with the others' failures.
   */
  failed?: CertificateFailure[];
  timing: Timing;
}

/** How many not-due certificates a selection lists by name (the rest are counted), to keep it small. */
export const SKIPPED_LISTED = 100;

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
  accountUrl: string;
  timing: Timing;
  order?: OrderState;
  /** PublishRecords' output: `publishedAt` (ISO) times the propagation metric. */
  publication?: { changeTokens: string[]; publishedAt?: string };
  propagation?: { ready: boolean; checks: number; waitingFor?: string[] };
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
  removed: { fqdn: string; values: number; certificate: string; executionId: string }[];
  /** Values whose run is still going (left alone). */
  stillRunning: number;
  /** Values whose owner could not be checked (left for a later run). */
  undecided: number;
}

/** What one batch (child execution) reports to the run: compact, so many batches fit one payload. */
export interface BatchSummary {
  issued: { certificate: string; notAfter: string }[];
  /** The failures, in full up to a bound (each was alerted on its own already). */
  failed: CertificateFailure[];
  /** How many failed, listed or not. */
  failedCount: number;
  warnings: ValuesLeftBehind[];
  /** Deferred inside the batch: the CA answered rateLimited at CreateOrder. */
  deferred: DeferredCertificate[];
}

/** A batch whose child execution failed as a whole (its certificates' outcomes are unknown). */
export interface BatchFailure {
  batchFailed: true;
  certificates: string[];
  error: { Error: string; Cause?: string };
}

/** SummarizeBatch's input: one child execution's Map results. */
export interface BatchSummarizeInput {
  summarizeBatch: true;
  results: CertificateResult[];
}

/** Summarize's input: the selection, each batch's summary, and the sweep. */
export interface SummarizeInput {
  selection: Selection;
  batches: (BatchSummary | BatchFailure)[];
  sweep?: SweepResult;
  /** Set when the run-start sweep failed (Catch). */
  sweepError?: { Error: string; Cause?: string };
}

export type { CertificateFailure, RunSummary };
