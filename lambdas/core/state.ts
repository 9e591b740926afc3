/**
 * The JSON that flows between states. Everything here lands in the execution history, so
 * nothing here may ever hold a private key, an account key, a TSIG secret or an EAB key.
 */
import type { CertificateFailure, RunSummary, StoredLocation } from './ports';

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

/** Output of SelectDue (at `$.selection`). */
export interface Selection {
  runId: string;
  accountUrl: string;
  due: DueCertificate[];
  skipped: DueCertificate[];
  /**
   * Certificates whose stores could not be consulted (e.g. the store directory cannot exist);
   * each fails alone, and Summarize reports it with the others' failures.
   */
  failed?: CertificateFailure[];
  timing: Timing;
}

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
  publication?: { changeTokens: string[] };
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
  /** `reason`: why the owning run counts as over (its process is gone, its execution ended, ...). */
  removed: { fqdn: string; values: number; certificate: string; executionId: string; reason: string }[];
  /** Values whose run is still going (left alone). */
  stillRunning: number;
  /** Values whose owner could not be checked (left for a later run). */
  undecided: number;
}

export interface SummarizeInput {
  selection: Selection;
  results: CertificateResult[];
  sweep?: SweepResult;
  /** Set when the run-start sweep failed (Catch). */
  sweepError?: { Error: string; Cause?: string };
}

export type { CertificateFailure, RunSummary };
