/**
 * certflow's metrics: their names, dimensions and the expiry arithmetic the alarms rely on. The
 * functions record them through the {@link Metrics} port (CloudWatch embedded metric format in
 * AWS and in local mode, lambdas/runtime/observability.ts); the construct's alarms and dashboard
 * (lib/monitoring) read the same names from here. No value here is ever a secret: names, counts,
 * days and durations only.
 */
import type { CertificateMetadata, Metrics, StoredCertificate } from './ports';

/** The metric names (CloudWatch namespace: `monitoring.namespace`, default `certflow`). */
export const METRIC = {
  /** A certificate issued and stored (FinalizeAndStore). Dimensions: Certificate; aggregate. */
  issued: 'CertificatesIssued',
  /** A certificate that failed. Dimensions: FailedStep; Certificate; aggregate. */
  failed: 'CertificatesFailed',
  /** Certificates SelectDue found not due, per run. Aggregate only. */
  notDue: 'CertificatesNotDue',
  /** Certificates SelectDue found due, per run. Aggregate only. */
  due: 'CertificatesDue',
  /**
   * Days until the soonest `notAfter` among a certificate's stored copies, from store metadata
   * (never a key), every run. Dimensions: Certificate; aggregate (the smallest of the run).
   */
  daysToExpiry: 'DaysToExpiry',
  /**
   * Days to expiry minus the certificate's alert threshold: below 0 means "alert". Aggregate
   * (the smallest of the run, every certificate) and, for the certificates that have their own
   * alarm ({@link alarmedCertificates}), per certificate.
   */
  expiryHeadroom: 'ExpiryHeadroomDays',
  /** Duration of one Task invocation, in milliseconds. Dimension: Step. */
  stepDuration: 'StepDuration',
  /** From PublishRecords to every authoritative server answering every value, in seconds. Aggregate. */
  propagationTime: 'PropagationSeconds',
  /** A run that reached its summary (Summarize). Aggregate. */
  runsCompleted: 'RunsCompleted',
  /** A run-level failure (SelectDue, IssueEach or Summarize failed). Dimension: FailedStep. */
  runsFailed: 'RunsFailed',
} as const;

/** The dimension names. */
export const DIMENSION = {
  certificate: 'Certificate',
  failedStep: 'FailedStep',
  step: 'Step',
} as const;

/** The `service` dimension every certflow metric carries (Powertools' default dimension). */
export const SERVICE_DIMENSION = { service: 'certflow' } as const;

/** The CloudWatch namespace when the configuration names none. */
export const DEFAULT_NAMESPACE = 'certflow';

const DAY_MS = 86_400_000;
/** The cap of the default alert threshold (days). */
export const DEFAULT_THRESHOLD_CAP_DAYS = 10;

/** Days from `now` to `notAfter` (negative once expired), to two decimals. */
export function daysToExpiry(notAfter: string, now: Date): number {
  return Math.floor(((Date.parse(notAfter) - now.getTime()) / DAY_MS) * 100) / 100;
}

/**
 * The alert threshold of a certificate, in days: the configured `thresholdDays`, else a third of
 * its lifetime or {@link DEFAULT_THRESHOLD_CAP_DAYS} days, whichever is smaller (a 90-day
 * certificate: 10 days; a 6-day one: 2 days).
 */
export function expiryThresholdDays(
  metadata: Pick<CertificateMetadata, 'notBefore' | 'notAfter'>,
  configured?: number,
): number {
  if (configured !== undefined) return configured;
  const lifetimeDays = (Date.parse(metadata.notAfter) - Date.parse(metadata.notBefore)) / DAY_MS;
  return Math.round(Math.min(lifetimeDays / 3, DEFAULT_THRESHOLD_CAP_DAYS) * 100) / 100;
}

/**
 * The certificates that get their own days-to-expiry alarm: the first `limit` in configuration
 * order. The others are covered by the aggregate alarm. The construct and SelectDue both call
 * this, so the per-certificate headroom metric exists exactly for the alarmed certificates.
 */
export function alarmedCertificates<T extends { name: string }>(
  certificates: readonly T[],
  limit: number,
): T[] {
  return certificates.slice(0, Math.max(0, limit));
}

/** The stored copy that expires first among a certificate's healthy copies, if any. */
export function soonestHealthy(stored: readonly StoredCertificate[]): CertificateMetadata | undefined {
  let soonest: CertificateMetadata | undefined;
  for (const s of stored) {
    if (s.status !== 'healthy') continue;
    if (!soonest || Date.parse(s.metadata.notAfter) < Date.parse(soonest.notAfter)) soonest = s.metadata;
  }
  return soonest;
}

/** One certificate's expiry, as SelectDue measured it. */
export interface ExpiryReading {
  certificate: string;
  days: number;
  thresholdDays: number;
}

/**
 * Record a run's expiry readings: DaysToExpiry per certificate and the run's smallest; the
 * headroom (days − threshold) for the alarmed certificates and the run's smallest over all.
 */
export function recordExpiry(
  metrics: Metrics,
  readings: readonly ExpiryReading[],
  alarmed: ReadonlySet<string>,
): void {
  if (readings.length === 0) return;
  for (const r of readings) {
    metrics.add(METRIC.daysToExpiry, 'None', r.days, { [DIMENSION.certificate]: r.certificate });
    if (alarmed.has(r.certificate)) {
      metrics.add(METRIC.expiryHeadroom, 'None', headroom(r), { [DIMENSION.certificate]: r.certificate });
    }
  }
  metrics.add(METRIC.daysToExpiry, 'None', Math.min(...readings.map((r) => r.days)));
  metrics.add(METRIC.expiryHeadroom, 'None', Math.min(...readings.map(headroom)));
}

function headroom(r: ExpiryReading): number {
  return Math.round((r.days - r.thresholdDays) * 100) / 100;
}
