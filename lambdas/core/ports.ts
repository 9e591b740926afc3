/**
 * Ports: the small interfaces the core needs from the outside world. Adapters in
 * `lambdas/adapters/` implement them; the core never imports an AWS SDK.
 */

/** One TXT value at one fully-qualified name (lowercase, no trailing dot). */
export interface TxtRecord {
  fqdn: string;
  value: string;
}

/**
 * Writes and deletes TXT values in the delegated validation zone (RFC 8555 §8.4 dns-01).
 * Implementations must keep every other value at the same name: apex and wildcard share one
 * name, and two orders may run at once.
 */
export interface DnsProvider {
  /** Short name for messages, e.g. `rfc2136` or `route53`. */
  readonly name: string;
  /**
   * Add the values (idempotent). Returns opaque change tokens the provider can later report
   * on (see {@link ChangeStatusReporter}); an empty array when the provider has none.
   */
  addTxtValues(records: TxtRecord[]): Promise<string[]>;
  /** Remove exactly these values (idempotent: a missing value is not an error). */
  removeTxtValues(records: TxtRecord[]): Promise<void>;
}

/** Optional capability: the provider can say whether a change has been applied (Route 53 INSYNC). */
export interface ChangeStatusReporter {
  isChangeApplied(token: string): Promise<boolean>;
}

export function hasChangeStatus(p: DnsProvider): p is DnsProvider & ChangeStatusReporter {
  return typeof (p as Partial<ChangeStatusReporter>).isChangeApplied === 'function';
}

/** A DNS server address. */
export interface ServerAddress {
  host: string;
  port: number;
}

export type { KeyType } from './config/schema';

import type { KeyType } from './config/schema';

/** What every store keeps next to a certificate, and what renewal decisions read. */
export interface CertificateMetadata {
  name: string;
  domains: string[];
  keyType: KeyType;
  serial: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** RFC 9773 CertID (base64url(AKI keyIdentifier) "." base64url(serial)), when the AKI is present. */
  ariCertId?: string;
  storedAt: string;
}

/** A freshly issued certificate. `privateKeyPem` must never leave the storing function. */
export interface IssuedCertificate {
  metadata: CertificateMetadata;
  /** Leaf certificate only. */
  certificatePem: string;
  /** Intermediates only. */
  chainPem: string;
  /** Leaf followed by intermediates. */
  fullchainPem: string;
  privateKeyPem: string;
}

/** Where a store put a certificate, for the run summary (never contains secrets). */
export interface StoredLocation {
  store: string;
  location: string;
}

/**
 * What a store holds for one certificate, as a renewal decision must see it:
 *
 * - `absent`: nothing is stored yet.
 * - `healthy`: a complete, consistent certificate is stored; `metadata` describes it.
 * - `broken`: something is stored but cannot be served as it is (a file missing or unreadable,
 *   a corrupt record, a key or chain that does not belong to the certificate, a record that does
 *   not describe what is stored). `problem` says what, in one line naming the file or resource
 *   and the OS or service error; never key material. `metadata` is there when the record could
 *   still be read. A broken certificate is due.
 */
export type StoredCertificate =
  | { status: 'absent' }
  | { status: 'healthy'; metadata: CertificateMetadata }
  | { status: 'broken'; problem: string; metadata?: CertificateMetadata };

/**
 * Keeps certificates. `put` replaces atomically: a failure leaves the previous one in place.
 * `put` of the certificate that is already current (same serial) changes nothing and succeeds,
 * so a repeated FinalizeAndStore stores once.
 */
export interface CertificateStore {
  readonly kind: string;
  /**
   * What is stored for `name`, and whether it can be trusted (see {@link StoredCertificate}).
   * Problems with one certificate's record are reported as `broken`, not thrown. On AWS this must
   * never read a private key: it reads metadata (tags, ACM's description) and the existence and
   * stage of what is stored.
   * @throws CertificateStoreError only when the store cannot be consulted at all (its directory
   *   cannot exist, access denied, the service unreachable); the message carries the cause.
   */
  current(name: string): Promise<StoredCertificate>;
  put(certificate: IssuedCertificate): Promise<StoredLocation>;
}

/** A CA's answer that failed verification, as FinalizeAndStore received it (public certificates only). */
export interface RejectedCertificate {
  certificate: string;
  orderUrl: string;
  /** The body of the certificate download (RFC 8555 §7.4.2), byte for byte. */
  answer: string;
  /** Why it was not stored (the failed checks). */
  problem: string;
}

/**
 * Keeps CA answers that were not stored, for inspection. Never given a private key.
 */
export interface RejectedCertificateStore {
  /** Keep `rejected`; returns where (a path, for the report). */
  keep(rejected: RejectedCertificate): Promise<string>;
}

/**
 * Who wrote a TXT value: the Step Functions execution (`$$.Execution.Id`; locally, the local
 * run's execution ARN), and in local mode the process that ran it, so a later run can tell
 * whether the writer is over.
 */
export interface RunOwner {
  executionId: string;
  /** Local mode: the process running the execution, with its start time (a pid can be reused). */
  process?: { pid: number; startedAt: string; host: string };
}

/** A TXT value certflow wrote and has not yet removed (RFC 8555 §8.4 values are public). */
export interface PendingRecord extends TxtRecord {
  certificate: string;
  owner: RunOwner;
  /** ISO time the value was recorded, before it was written. */
  writtenAt: string;
  /**
   * The add of this value was sent and got no answer (RFC 2136 UPDATE timed out): the server may
   * apply it at any later time, even after Cleanup removed the value. Such a record outlives its
   * run's Cleanup, and a later run's sweep removes the value (again) and forgets it.
   */
  addUnanswered?: true;
}

/**
 * Every TXT value certflow writes is recorded here before it is written and forgotten only
 * after it is removed, so a value whose run died (killed, stopped, timed out) is found and
 * removed by a later run.
 */
export interface PendingRecordStore {
  /**
   * Record values (before they are written). A record marked `addUnanswered` is a record of its
   * own beside the value's plain record: a later plain `add` of the same value (a retried
   * PublishRecords) does not clear the mark.
   */
  add(records: PendingRecord[]): Promise<void>;
  /**
   * Forget these records (idempotent): the plain record of each value, or, with
   * `addUnanswered: true`, its mark (Cleanup forgets only the plain one; the sweep forgets both).
   */
  remove(records: (TxtRecord & { executionId: string; addUnanswered?: boolean })[]): Promise<void>;
  list(): Promise<PendingRecord[]>;
}

/** Whether the run that owns a value can still remove it itself. */
export type RunState = 'running' | 'over' | 'unknown';

/** A run's state, and what showed it (for reports: "its process 1234 is gone"). */
export interface RunStatus {
  state: RunState;
  /** A short clause saying how the state was known, e.g. `its execution ended SUCCEEDED`. */
  reason: string;
}

/** Tells whether a run is still going (local: its process and its execution record; AWS: the execution's status). */
export interface RunLiveness {
  stateOf(owner: RunOwner): Promise<RunStatus>;
  /** The process identity to record as a value's owner (local mode), or undefined (AWS). */
  currentProcess(): RunOwner['process'] | undefined;
}

/**
 * Keeps each ACME account's new-order budget (lambdas/core/renewal/order-budget.ts): `update`
 * reads the state for `key`, lets `change` compute the next one, and writes it atomically against
 * concurrent runs (retrying `change` on a newer state).
 */
export interface OrderBudgetStore {
  update<T>(
    key: string,
    change: (state: import('./renewal/order-budget').OrderBudgetState) => {
      state: import('./renewal/order-budget').OrderBudgetState;
      result: T;
    },
  ): Promise<T>;
}

/** The ACME account: its key (secret) and URL (not secret). */
export interface AcmeAccount {
  directoryUrl: string;
  keyPem: string;
  accountUrl?: string;
}

/** Keeps the ACME account key; one account per directory URL (RFC 8555 §7.3). */
export interface AccountStore {
  /** The account for `directoryUrl`, or undefined when none was stored. */
  load(directoryUrl: string): Promise<AcmeAccount | undefined>;
  /** Replace the stored account for `account.directoryUrl` (e.g. to record its URL). */
  save(account: AcmeAccount): Promise<void>;
  /**
   * Store `account` only if there is none yet for its directory URL, atomically: of two
   * concurrent callers exactly one wins. Returns what is stored afterwards: `account` for the
   * winner, the winner's account for the other.
   */
  saveIfAbsent(account: AcmeAccount): Promise<AcmeAccount>;
}

/**
 * Keeps the private key made for an order from before it is finalized (RFC 8555 §7.4), so a
 * repeated FinalizeAndStore uses the same key. One key per certificate: saving for a new order
 * replaces the key of an older one. Keys never appear in messages.
 */
export interface PendingKeyStore {
  /** The key saved for this certificate and this order URL; undefined for none or another order's. */
  load(certificate: string, orderUrl: string): Promise<string | undefined>;
  /** Save (create or replace) the certificate's pending key for `orderUrl`, durably. */
  save(certificate: string, orderUrl: string, keyPem: string): Promise<void>;
  /** Forget the certificate's pending key (idempotent). */
  clear(certificate: string): Promise<void>;
}

/** One certificate's failure, as alerted. */
export interface CertificateFailure {
  certificate: string;
  step: string;
  error: string;
  message: string;
  /** The CA's problem document (RFC 8555 §6.7 / RFC 7807), when there was one. */
  problem?: unknown;
}

/**
 * A certificate was issued and stored, but Cleanup could not remove every TXT value it wrote:
 * the values stay owned (PendingRecordStore) and a later run removes them.
 */
export interface ValuesLeftBehind {
  certificate: string;
  /** The Cleanup error's name and message. */
  error: string;
  message: string;
  /** The values that may remain, counted by name. */
  left: { fqdn: string; values: number }[];
}

export interface RunSummary {
  runId: string;
  /** A dry run: issued from `directoryUrl` (a test CA) and stored nowhere. */
  dryRun?: boolean;
  directoryUrl?: string;
  /** Names and dates (why each was due: SelectDue's output and log). */
  issued: { certificate: string; notAfter: string }[];
  failed: CertificateFailure[];
  /** Failures not listed in `failed` (large runs list a bounded number per batch). */
  failedNotListed?: number;
  /** Not due (the first names; `skippedCount` counts all). */
  skipped: { certificate: string; reason: string }[];
  skippedCount?: number;
  /** Due, but left for a later run by the CA's new-order limit, with the earliest time. */
  deferred: { certificate: string; until: string }[];
  /** Why certificates were deferred (the budget's state, or the CA's rateLimited answer). */
  deferredReasons: string[];
  /** Issued certificates whose Cleanup left TXT values behind (the first few; `warningCount` counts all). */
  warnings: ValuesLeftBehind[];
  warningCount?: number;
  /** Values of earlier runs that this run's sweep removed, with why their run counts as over (the first few; `sweptCount` counts all). */
  swept: { fqdn: string; values: number; certificate: string; executionId: string; reason?: string }[];
  sweptCount?: number;
  /** Why the run-start sweep failed, when it did (earlier values stay for the next run). */
  sweepFailed?: string;
  /**
   * Values of earlier runs the sweep left in place, when any: their run is still going
   * (`stillRunning`), or whether it is over could not be told (`undecided`: removed once it can
   * be, or once 24 h old).
   */
  sweepKept?: { stillRunning: number; undecided: number };
}

/** Sends alerts (SNS in AWS, a file and stderr locally). */
export interface Alerter {
  certificateFailed(failure: CertificateFailure): Promise<void>;
  /** An issued certificate whose Cleanup left values behind (a warning, not a failure). */
  valuesLeftBehind(warning: ValuesLeftBehind): Promise<void>;
  runFinished(summary: RunSummary): Promise<void>;
}

/** Structured log sink. Callers never pass secrets; the logger also redacts PEM blocks. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The CloudWatch units certflow's metrics use. */
export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'None';

/**
 * Records metrics (CloudWatch embedded metric format, in AWS and in local mode). Values are
 * buffered for the invocation and written when it ends. Names and dimensions come from
 * lambdas/core/metrics.ts; a value is never a secret.
 */
export interface Metrics {
  /** Record one value of `name` under `dimensions` (none: the aggregate series). */
  add(name: string, unit: MetricUnit, value: number, dimensions?: Record<string, string>): void;
}

/** A certificate's copies in a store that reports expiry itself (ACM), as FinalizeAndStore stored them. */
export interface ExpiryAlarmRequest {
  certificate: string;
  /** Where the certificate was stored (`{store: 'acm', location: '<arn>, <arn>'}`). */
  location: StoredLocation;
  /** Alarm when fewer days than this remain. */
  thresholdDays: number;
}

/**
 * Puts alarms on a store's own expiry metric (ACM's `AWS/CertificateManager` `DaysToExpiry`),
 * which fire even if certflow never runs again. Idempotent: putting the same alarm again
 * replaces its configuration.
 */
export interface ExpiryAlarms {
  /** Create or update the alarms; returns their names (none where it has nothing to watch). */
  ensure(request: ExpiryAlarmRequest): Promise<string[]>;
}
