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
 * Keeps certificates. `put` replaces atomically: a failure leaves the previous one in place.
 * `put` of the certificate that is already current (same serial) changes nothing and succeeds,
 * so a repeated FinalizeAndStore stores once.
 */
export interface CertificateStore {
  readonly kind: string;
  current(name: string): Promise<CertificateMetadata | undefined>;
  put(certificate: IssuedCertificate): Promise<StoredLocation>;
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

export interface RunSummary {
  runId: string;
  issued: { certificate: string; notAfter: string; locations: StoredLocation[] }[];
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
