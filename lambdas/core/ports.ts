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

export type KeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

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

/** Keeps certificates. `put` replaces atomically: a failure leaves the previous one in place. */
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

/** The ACME account: its key (secret) and URL (not secret). */
export interface AcmeAccount {
  directoryUrl: string;
  keyPem: string;
  accountUrl?: string;
}

/** Keeps the ACME account key; one account per directory URL. */
export interface AccountStore {
  load(directoryUrl: string): Promise<AcmeAccount | undefined>;
  save(account: AcmeAccount): Promise<void>;
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

export interface RunSummary {
  runId: string;
  /** `reason` is why SelectDue found the certificate due (e.g. a store's problem). */
  issued: { certificate: string; notAfter: string; locations: StoredLocation[]; reason?: string }[];
  failed: CertificateFailure[];
  skipped: { certificate: string; reason: string }[];
}

/** Sends alerts (SNS in AWS, a file and stderr locally). */
export interface Alerter {
  certificateFailed(failure: CertificateFailure): Promise<void>;
  runFinished(summary: RunSummary): Promise<void>;
}

/** Structured log sink. Callers never pass secrets; the logger also redacts PEM blocks. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
