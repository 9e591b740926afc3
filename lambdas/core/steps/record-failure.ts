import { DIMENSION, METRIC } from '../metrics';
import type { CertificateFailure, ValuesLeftBehind } from '../ports';
import type { CertificateItem } from '../state';
import { countByName } from './cleanup';
import type { StepContext } from './context';
import { causeMessage, describeFailure } from './failure';

/** The warning for an issued certificate whose Cleanup failed: the error and the values that may remain. */
export function describeValuesLeft(
  certificate: string,
  error: { Error: string; Cause?: string } | undefined,
  records: readonly { fqdn: string; value: string }[],
): ValuesLeftBehind {
  return {
    certificate,
    error: error?.Error ?? 'UnknownError',
    message: causeMessage(error?.Cause),
    left: countByName(records),
  };
}

/**
 * RecordFailure: one alert per failed certificate, with the step, the error and the CA's
 * problem; or, for a certificate that was issued but whose Cleanup failed (`valuesLeft`), one
 * warning naming each value that may remain (they stay owned and a later run removes them).
 *
 * Metrics: CertificatesFailed by FailedStep, by Certificate and in aggregate; for the run-level
 * failure (certificate `(run)`: SelectDue, IssueEach or Summarize failed) RunsFailed by FailedStep.
 */
export async function recordFailure(
  item: CertificateItem & { valuesLeft?: boolean },
  ctx: StepContext,
): Promise<CertificateFailure | ValuesLeftBehind> {
  if (item.valuesLeft) {
    const warning = describeValuesLeft(item.certificate, item.cleanupError, item.order?.records ?? []);
    ctx.logger.warn('certificate issued, but cleanup left TXT values behind', { ...warning });
    await ctx.alerter().valuesLeftBehind(warning);
    return warning;
  }
  const failure = describeFailure(item.certificate, item.failedStep, item.error);
  if (failure.error === 'RateLimitedError') {
    // Not a failure: deferred to the time the CA gave; the run summary lists it.
    ctx.logger.warn('certificate deferred: the CA rate-limited new orders', {
      certificate: item.certificate,
    });
    return failure;
  }
  recordFailureMetrics(ctx, failure);
  // `step` in a log line is the logging step (RecordFailure); the failed one goes in `failedStep`
  const { step: failedStep, ...rest } = failure;
  ctx.logger.error('certificate failed', { ...rest, failedStep });
  if (item.cleanupError) {
    ctx.logger.error('cleanup after the failure also failed; TXT values may remain', {
      certificate: item.certificate,
      cleanupError: item.cleanupError,
    });
  }
  await ctx.alerter().certificateFailed(failure);
  return failure;
}

/** The run-level failure's certificate field (the state machine's RecordRunFailure). */
export const RUN_FAILURE_CERTIFICATE = '(run)';

function recordFailureMetrics(ctx: StepContext, failure: CertificateFailure): void {
  const failedStep = { [DIMENSION.failedStep]: failure.step };
  if (failure.certificate === RUN_FAILURE_CERTIFICATE) {
    ctx.metrics.add(METRIC.runsFailed, 'Count', 1, failedStep);
    return;
  }
  ctx.metrics.add(METRIC.failed, 'Count', 1, failedStep);
  ctx.metrics.add(METRIC.failed, 'Count', 1, { [DIMENSION.certificate]: failure.certificate });
  ctx.metrics.add(METRIC.failed, 'Count', 1);
}
