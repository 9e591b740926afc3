import type { EabKey } from '../acme/client';
import type { CertflowConfig, CertificateConfig } from '../config/schema';
import type { DnsClient } from '../dns/dns-client';
import { InvalidInputError } from '../errors';
import type {
  AccountStore,
  Alerter,
  CertificateStore,
  DnsProvider,
  ExpiryAlarms,
  Logger,
  Metrics,
  OrderBudgetStore,
  PendingKeyStore,
  PendingRecordStore,
  RejectedCertificateStore,
  RunLiveness,
  RunOwner,
  ServerAddress,
} from '../ports';

/**
 * What a step needs from the outside world. Built once per cold start by the runtime; adapters
 * are created lazily, so a function only builds (and only holds permissions for) what it uses.
 */
export interface StepContext {
  config: CertflowConfig;
  /** Structured logs; every line carries the execution, the certificate and the step. */
  logger: Logger;
  /** This invocation's metrics (lambdas/core/metrics.ts), written when it ends. */
  metrics: Metrics;
  now(): Date;
  random(): number;
  accounts(): AccountStore;
  /** Each certificate's latest order key: saved before finalizing, kept after the store until the next order replaces it. */
  pendingKeys(): PendingKeyStore;
  eab(): Promise<EabKey | undefined>;
  dnsProvider(): DnsProvider;
  dnsClient(): DnsClient;
  /** Recursive resolver used to follow `_acme-challenge` CNAMEs. */
  resolver(): ServerAddress;
  /** Every authoritative server of the delegated zone. */
  authoritativeServers(): Promise<ServerAddress[]>;
  stores(certificate: CertificateConfig): CertificateStore[];
  alerter(): Alerter;
  /** The TXT values written and not yet removed, with their owners. */
  pendingRecords(): PendingRecordStore;
  /** Whether a value's owning run is over. */
  runLiveness(): RunLiveness;
  /** Each ACME account's new-order budget (the CA's rate limit, kept on our side). */
  orderBudget(): OrderBudgetStore;
  /** Alarms on a store's own expiry metric (ACM), put after a certificate is stored. */
  expiryAlarms(): ExpiryAlarms;
  /**
   * Where FinalizeAndStore keeps a CA answer that failed verification (local mode: a file in the
   * state directory). Absent: the answer goes to the log, base64-encoded.
   */
  rejectedCertificates?(): RejectedCertificateStore;
}

/**
 * The owner recorded with each value a certificate item writes: its execution (`$$.Execution.Id`,
 * from the Map's item) and, locally, the process running it.
 */
export function runOwner(
  item: { executionId?: string; runId: string },
  ctx: Pick<StepContext, 'runLiveness'>,
): RunOwner {
  const process = ctx.runLiveness().currentProcess();
  return { executionId: item.executionId ?? `run:${item.runId}`, ...(process ? { process } : {}) };
}

/** The configured certificate by name, or an error that lists the known names. */
export function certificateByName(config: CertflowConfig, name: string): CertificateConfig {
  const cert = config.certificates.find((c) => c.name === name);
  if (!cert) {
    throw new InvalidInputError(
      `unknown certificate "${name}"; configured certificates: ${config.certificates.map((c) => c.name).join(', ')}`,
    );
  }
  return cert;
}

/** Require a field a previous state must have set. */
export function required<T>(value: T | undefined | null, field: string, producer: string): T {
  if (value === undefined || value === null) {
    throw new InvalidInputError(`state input lacks ${field}; it is set by ${producer}`);
  }
  return value;
}

/**
 * The ACME directory of the run an item (or its order) belongs to: SelectDue's choice, carried
 * in the item and the order (a test CA's in a dry run); the configured one for older items.
 */
export function runDirectoryUrl(ctx: StepContext, from: { directoryUrl?: string } | undefined): string {
  return from?.directoryUrl ?? ctx.config.acme.directoryUrl;
}
