import { errorText, RateLimitedError } from '../errors';
import { METRIC } from '../metrics';
import type { CertificateFailure, RunSummary, ValuesLeftBehind } from '../ports';
import {
  type BatchFailure,
  type BatchSummarizeInput,
  type BatchSummary,
  clip,
  type DeferredCertificate,
  listingFor,
  PAYLOAD_BOUNDS,
  type SummarizeInput,
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

/** `... retry after <ISO time>` in a RateLimitedError's message. */
const RETRY_AFTER = /retry after (\d{4}-\d\d-\d\dT[\d:.]+Z)/;

function isBatchFailure(batch: BatchSummary | BatchFailure): batch is BatchFailure {
  return (batch as BatchFailure).batchFailed === true;
}

/** The child execution's own outcome in a failed `startExecution.sync` Task's Cause, if it is one. */
function childOutcome(
  cause: string,
): { ExecutionArn?: string; Status?: string; Error?: string; Cause?: string } | undefined {
  try {
    const child = JSON.parse(cause) as Record<string, unknown> | null;
    if (
      child &&
      typeof child === 'object' &&
      (typeof child.Error === 'string' || typeof child.Status === 'string')
    ) {
      const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
      return {
        ExecutionArn: text(child.ExecutionArn),
        Status: text(child.Status),
        Error: text(child.Error),
        Cause: child.Cause === undefined ? undefined : causeMessage(child.Cause),
      };
    }
  } catch {
    // not JSON: the Cause as it is
  }
  return undefined;
}

/**
 * Why a batch failed as a whole. A failed `startExecution.sync` Task's Cause is the child's
 * DescribeExecution result as JSON; its own Error and Cause say what happened.
 */
function batchFailureMessage(error: { Error: string; Cause?: string }): string {
  const text = causeMessage(error.Cause);
  const child = childOutcome(text);
  if (child) {
    return `the batch's execution ended ${child.Status ?? 'FAILED'}: ${child.Error ?? 'unknown error'}${child.Cause ? `: ${child.Cause}` : ''}`;
  }
  return text;
}

/** UTF-8 bytes of `value` as JSON: how Step Functions measures a state's payload. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

/**
 * The longest cut of `text` (whole code points, `...` marking a cut) for which `build(cut)`
 * takes at most `maxBytes` as JSON; `undefined` when not even the empty cut fits.
 */
function fitText<T>(text: string, maxBytes: number, build: (cut: string) => T): T | undefined {
  const points = Array.from(text);
  const cut = (n: number) =>
    n >= points.length ? text : `${points.slice(0, Math.max(0, n - 3)).join('')}...`;
  if (jsonBytes(build(text)) <= maxBytes) return build(text);
  // every code point takes at least one byte: no longer cut than maxBytes can fit
  let lo = 0;
  let hi = Math.min(points.length - 1, maxBytes);
  if (jsonBytes(build(cut(0))) > maxBytes) return undefined;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(build(cut(mid))) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return build(cut(lo));
}

/** Longest error name kept (Step Functions' own error names are at most 256 characters). */
const ERROR_NAME_CHARS = 128;
/** Longest execution ARN kept (an ARN with an 80-character state machine and execution name is well under). */
const EXECUTION_ARN_CHARS = 300;

/**
 * A failed batch's `{Error, Cause}` cut to fit `maxBytes` of JSON (UTF-8), as BatchFailed puts it
 * in the run's state: the Catch's error name, and of the Cause (the child's DescribeExecution,
 * whose `Input` is the whole batch) only the child's ARN, status, error and cause, the cause cut
 * to fit; a Cause that is not the child's outcome is cut to fit as it is.
 */
export function boundBatchError(
  error: { Error?: unknown; Cause?: unknown } | undefined,
  maxBytes: number = PAYLOAD_BOUNDS.batchErrorBytes,
): { Error: string; Cause?: string } {
  const name = clip(typeof error?.Error === 'string' ? error.Error : 'UnknownError', ERROR_NAME_CHARS);
  if (error?.Cause === undefined) return { Error: name };
  const text = causeMessage(error.Cause);
  const child = childOutcome(text);
  if (child) {
    const outcome = {
      ...(child.ExecutionArn && child.ExecutionArn.length <= EXECUTION_ARN_CHARS
        ? { ExecutionArn: child.ExecutionArn }
        : {}),
      ...(child.Status ? { Status: clip(child.Status, 32) } : {}),
      ...(child.Error ? { Error: clip(child.Error, ERROR_NAME_CHARS) } : {}),
    };
    const fitted = fitText(child.Cause ?? '', maxBytes, (cut) => ({
      Error: name,
      Cause: JSON.stringify(child.Cause === undefined ? outcome : { ...outcome, Cause: cut }),
    }));
    if (fitted) return fitted;
  }
  return fitText(text, maxBytes, (cut) => ({ Error: name, Cause: cut })) ?? { Error: name };
}

/**
 * BatchFailed: a batch whose execution failed as a whole, as the run's state keeps it: its
 * certificates and its error bounded ({@link boundBatchError}), so a child's large cause (its
 * input, a long error) never grows the run's state. No alert: Summarize reports the batch.
 */
export function reduceBatchFailure(input: BatchFailure): BatchFailure {
  return { batchFailed: true, certificates: input.certificates, error: boundBatchError(input.error) };
}

/** A failure as a summary carries it: the message cut short, the CA's problem left to its own alert. */
function compactFailure(f: CertificateFailure): CertificateFailure {
  return {
    certificate: f.certificate,
    step: f.step,
    error: f.error,
    message: clip(f.message, PAYLOAD_BOUNDS.messageChars),
  };
}

/** Values left behind as a summary carries them: the first names (their own alert lists all). */
function compactWarning(w: ValuesLeftBehind): ValuesLeftBehind {
  return {
    certificate: w.certificate,
    error: w.error,
    message: clip(w.message, PAYLOAD_BOUNDS.messageChars),
    left: w.left.slice(0, 1),
  };
}

/**
 * SummarizeBatch (the last state of each IssueBatch child execution): its certificates' outcomes,
 * compact (names and dates; failures and warnings in full only up to
 * {@link PAYLOAD_BOUNDS}), so the run can gather a thousand certificates' outcomes within one
 * payload. A certificate the CA refused with `rateLimited` is deferred, not failed. No alert:
 * each failure was alerted on its own, and the run's Summarize alerts once.
 */
export async function summarizeBatch(input: BatchSummarizeInput, ctx: StepContext): Promise<BatchSummary> {
  const summary: BatchSummary = {
    issued: [],
    failed: [],
    failedCount: 0,
    warnings: [],
    warningCount: 0,
    deferred: [],
  };
  const listing = input.listing ?? listingFor(1);
  for (const r of input.results ?? []) {
    if (r.status === 'issued') {
      summary.issued.push({ certificate: r.certificate, notAfter: r.issued.notAfter });
      if (r.cleanupError) {
        summary.warningCount += 1;
        if (summary.warnings.length < listing.warnings) {
          summary.warnings.push(
            compactWarning(describeValuesLeft(r.certificate, r.cleanupError, r.leftRecords ?? [])),
          );
        }
      }
      continue;
    }
    const failure = describeFailure(r.certificate, r.step, r.error);
    const until =
      failure.error === RateLimitedError.name ? RETRY_AFTER.exec(failure.message)?.[1] : undefined;
    if (until) {
      summary.deferred.push({ certificate: r.certificate, until });
      summary.deferredReason ??= clip(failure.message, PAYLOAD_BOUNDS.messageChars);
      continue;
    }
    summary.failedCount += 1;
    if (summary.failed.length < listing.failures) summary.failed.push(compactFailure(failure));
  }
  ctx.logger.info('batch finished', {
    issued: summary.issued.length,
    failed: summary.failedCount,
    deferred: summary.deferred.length,
    warnings: summary.warningCount,
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

/**
 * The Summarize function's job: one batch's summary (SummarizeBatch), the run's (Summarize), or a
 * failed batch's bounded record (BatchFailed).
 */
export function summarizeRunOrBatch(
  input: SummarizeInput | BatchSummarizeInput | BatchFailure,
  ctx: StepContext,
): Promise<SummaryOutput | BatchSummary | BatchFailure> {
  if ('batchFailed' in input) return Promise.resolve(reduceBatchFailure(input));
  return 'summarizeBatch' in input ? summarizeBatch(input, ctx) : summarize(input, ctx);
}

/**
 * Summarize: the run's outcome from its selection (each batch's outcome in place of its list)
 * and the sweep; one alert listing the failures (and values left behind, and values swept) when
 * there were any. Lists are bounded ({@link PAYLOAD_BOUNDS}) and counted in full.
 */
export async function summarize(input: SummarizeInput, ctx: StepContext): Promise<SummaryOutput> {
  const { selection } = input;
  const issued: RunSummary['issued'] = [];
  const failed: CertificateFailure[] = [];
  const warnings: RunSummary['warnings'] = [];
  const deferred: DeferredCertificate[] = [...(selection.deferred ?? [])];
  const deferredReasons = new Set<string>(selection.deferredReason ? [selection.deferredReason] : []);
  let failedCount = 0;
  let warningCount = 0;
  const fail = (f: CertificateFailure) => {
    failedCount += 1;
    if (failed.length < PAYLOAD_BOUNDS.failuresPerRun) failed.push(compactFailure(f));
  };
  for (const f of selection.failed ?? []) fail(f);
  for (const batch of selection.batches ?? []) {
    if (isBatchFailure(batch)) {
      // The batch's execution ended without its summary: each certificate's outcome is read
      // from its stores, so one stored before the batch died is reported issued.
      const message = batchFailureMessage(batch.error);
      for (const certificate of batch.certificates) {
        const outcome = await storedSince(certificate, selection.startedAt, ctx);
        if (outcome.stored) {
          issued.push({ certificate, notAfter: outcome.notAfter });
          continue;
        }
        fail({
          certificate,
          step: 'IssueBatch',
          error: batch.error.Error,
          message: `${message} (${outcome.detail})`,
        });
      }
      continue;
    }
    issued.push(...batch.issued);
    for (const f of batch.failed) fail(f);
    // failures the batch counted but did not list
    const unlisted = batch.failedCount - batch.failed.length;
    failedCount += unlisted;
    warningCount += batch.warningCount ?? batch.warnings.length;
    for (const w of batch.warnings) if (warnings.length < PAYLOAD_BOUNDS.warningsPerRun) warnings.push(w);
    deferred.push(...batch.deferred);
    if (batch.deferredReason) deferredReasons.add(batch.deferredReason);
  }
  const swept = input.sweep?.removed ?? [];
  const sweptCount = input.sweep?.removedCount ?? swept.length;
  const kept = { stillRunning: input.sweep?.stillRunning ?? 0, undecided: input.sweep?.undecided ?? 0 };
  const summary: RunSummary = {
    runId: selection.runId,
    ...(selection.dryRun ? { dryRun: true, directoryUrl: selection.directoryUrl } : {}),
    issued,
    failed,
    ...(failedCount > failed.length ? { failedNotListed: failedCount - failed.length } : {}),
    skipped: selection.skipped,
    skippedCount: selection.skippedCount ?? selection.skipped.length,
    deferred,
    deferredReasons: [...deferredReasons],
    warnings,
    warningCount,
    swept,
    ...(sweptCount > swept.length ? { sweptCount } : {}),
    ...(kept.stillRunning + kept.undecided > 0 ? { sweepKept: kept } : {}),
    ...(input.sweepError
      ? {
          sweepFailed: `${input.sweepError.Error}: ${clip(causeMessage(input.sweepError.Cause), PAYLOAD_BOUNDS.messageChars)}`,
        }
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
    warnings: warningCount,
    swept: sweptCount,
  });
  return {
    ...summary,
    issuedCount: issued.length,
    failedCount,
    skippedCount: selection.skippedCount ?? selection.skipped.length,
    deferredCount: deferred.length,
    warningCount,
  };
}
