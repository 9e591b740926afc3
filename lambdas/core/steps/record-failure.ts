import type { CertificateFailure } from '../ports';
import type { CertificateItem } from '../state';
import type { StepContext } from './context';
import { describeFailure } from './failure';

/** RecordFailure: one alert per failed certificate, with the step, the error and the CA's problem. */
export async function recordFailure(item: CertificateItem, ctx: StepContext): Promise<CertificateFailure> {
  const failure = describeFailure(item.certificate, item.failedStep, item.error);
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
