import { errorText, RateLimitedError } from '../errors';
import { METRIC } from '../metrics';
import type { CertificateFailure, RunSummary } from '../ports';
import type {
  BatchFailure,
  BatchSummarizeInput,
  BatchSummary,
  DeferredCertificate,
  SummarizeInput,
} from '../state';
import type { StepContext } from './context';
import { causeMessage, describeFailure } from './failure';
import { describeValuesLeft } from './record-failure';

export type SummaryOutput = RunSummary & {
  issuedCount: number;
  failedCount: number;
  skippedCount: number;
  deferredCount: number;
  /** Issued certificates whose Cleanup left values behind. */
  warningCount: number;
};

/** How many failures one batch reports in full (the rest are counted); each was alerted alone already. */
export const FAILURES_LISTED_PER_BATCH = 25;

/** `... retry after <ISO time>` in a RateLimitedError's message. */
const RETRY_AFTER = /retry after (\d{4}-\d\d-\d\dT[\d:.]+Z)/;

function isBatchFailure(batch: BatchSummary | BatchFailure): batch is BatchFailure {
  return (batch as BatchFailure).batchFailed === true;
}

/**
 * SummarizeBatch (the last state of each IssueBatch child execution): its certificates' outcomes,
 * compact (names and dates; failures in full up to {@link FAILURES_LISTED_PER_BATCH}), so the run
 * can gather a thousand certificates' outcomes within one payload. A certificate the CA refused
 * with `rateLimited` is deferred, not failed. No alert: the run's Summarize alerts once.
 */
export async function summarizeBatch(input: BatchSummarizeInput, ctx: StepContext): Promise<BatchSummary> {
  const summary: BatchSummary = { issued: [], failed: [], failedCount: 0, warnings: [], deferred: [] };
  for (const r of input.results ?? []) {
    if (r.status === 'issued') {
      summary.issued.push({ certificate: r.certificate, notAfter: r.issued.notAfter });
      if (r.cleanupError)
        summary.warnings.push(describeValuesLeft(r.certificate, r.cleanupError, r.leftRecords ?? []));
      continue;
    }
    const failure = describeFailure(r.certificate, r.step, r.error);
    const until =
      failure.error === RateLimitedError.name ? RETRY_AFTER.exec(failure.message)?.[1] : undefined;
    if (until) {
      summary.deferred.push({ certificate: r.certificate, until, reason: failure.message });
      continue;
    }
    summary.failedCount += 1;
    if (summary.failed.length < FAILURES_LISTED_PER_BATCH) summary.failed.push(failure);
  }
  ctx.logger.info('batch finished', {
    issued: summary.issued.length,
    failed: summary.failedCount,
    deferred: summary.deferred.length,
  });
  return summary;
}

/**
 * Whether every store of `name` holds a healthy certificate stored at or after `since` (this
 * run's): the truth about a certificate whose batch ended without reporting it. A store that
 * cannot be consulted makes the outcome unknown, said as such.
 */
async function storedSince(
  name: string,
  since: string,
  ctx: StepContext,
): Promise<{ stored: true; notAfter: string } | { stored: false; detail: string }> {
  const certificate = ctx.config.certificates.find((c) => c.name === name);
  if (!certificate) return { stored: false, detail: 'not in the configuration any more' };
  const notStored: string[] = [];
  let notAfter: string | undefined;
  for (const store of ctx.stores(certificate)) {
    try {
      const current = await store.current(name);
      if (current.status === 'healthy' && Date.parse(current.metadata.storedAt) >= Date.parse(since)) {
        notAfter = current.metadata.notAfter;
      } else {
        notStored.push(`${store.kind}: not stored by this run`);
      }
    } catch (error) {
      notStored.push(`${store.kind}: could not be checked, outcome unknown: ${errorText(error)}`);
    }
  }
  if (notStored.length === 0 && notAfter !== undefined) return { stored: true, notAfter };
  return { stored: false, detail: notStored.join('; ') };
}

/** The Summarize function's job: one batch's summary (SummarizeBatch), or the run's (Summarize). */
export function summarizeRunOrBatch(
  input: SummarizeInput | BatchSummarizeInput,
  ctx: StepContext,
): Promise<SummaryOutput | BatchSummary> {
  return 'summarizeBatch' in input ? summarizeBatch(input, ctx) : summarize(input, ctx);
}

/**
 * Summarize: the run's outcome from its selection and each batch's summary; one alert listing
 * the failures (and values left behind, and values swept) when there were any.
 */
export async function summarize(input: SummarizeInput, ctx: StepContext): Promise<SummaryOutput> {
  const { selection } = input;
  const reasons = new Map(selection.batches.flat().map((d) => [d.certificate, d.reason]));
  const issued: RunSummary['issued'] = [];
  const failed: CertificateFailure[] = [...(selection.failed ?? [])];
  const warnings: RunSummary['warnings'] = [];
  const deferred: DeferredCertificate[] = [...(selection.deferred ?? [])];
  let failedCount = failed.length;
  for (const batch of input.batches ?? []) {
    if (isBatchFailure(batch)) {
      // The batch's execution ended without its summary: each certificate's outcome is read
      // from its stores, so one stored before the batch died is reported issued.
      const message = causeMessage(batch.error.Cause);
      for (const certificate of batch.certificates) {
        const outcome = await storedSince(certificate, selection.startedAt, ctx);
        if (outcome.stored) {
          const reason = reasons.get(certificate);
          issued.push({
            certificate,
            notAfter: outcome.notAfter,
            ...(reason === undefined ? {} : { reason }),
          });
          continue;
        }
        failed.push({
          certificate,
          step: 'IssueBatch',
          error: batch.error.Error,
          message: `${message} (${outcome.detail})`,
        });
        failedCount += 1;
      }
      continue;
    }
    for (const i of batch.issued) {
      const reason = reasons.get(i.certificate);
      issued.push({ ...i, ...(reason === undefined ? {} : { reason }) });
    }
    failed.push(...batch.failed);
    failedCount += batch.failedCount;
    warnings.push(...batch.warnings);
    deferred.push(...batch.deferred);
  }
  const summary: RunSummary = {
    runId: selection.runId,
    issued,
    failed,
    ...(failedCount > failed.length ? { failedNotListed: failedCount - failed.length } : {}),
    skipped: selection.skipped,
    deferred,
    warnings,
    swept: input.sweep?.removed ?? [],
    ...(input.sweepError
      ? { sweepFailed: `${input.sweepError.Error}: ${causeMessage(input.sweepError.Cause)}` }
      : {}),
  };
  try {
    await ctx.alerter().runFinished(summary);
  } catch (error) {
    // The summary still reaches the execution output; a failed run still ends in SomeCertificatesFailed.
    ctx.logger.error('could not send the run summary alert', { error });
  }
  ctx.metrics.add(METRIC.runsCompleted, 'Count', 1);
  ctx.logger.info('run finished', {
    issued: issued.length,
    failed: failedCount,
    skipped: selection.skippedCount,
    deferred: deferred.length,
    warnings: warnings.length,
    swept: summary.swept.length,
  });
  return {
    ...summary,
    issuedCount: issued.length,
    failedCount,
    skippedCount: selection.skippedCount ?? selection.skipped.length,
    deferredCount: deferred.length,
    warningCount: warnings.length,
  };
}
