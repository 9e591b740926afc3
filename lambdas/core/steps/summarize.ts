import { METRIC } from '../metrics';
import type { RunSummary } from '../ports';
import type { SummarizeInput } from '../state';
import type { StepContext } from './context';
import { causeMessage, describeFailure } from './failure';
import { describeValuesLeft } from './record-failure';

export type SummaryOutput = RunSummary & {
  issuedCount: number;
  failedCount: number;
  skippedCount: number;
  /** Issued certificates whose Cleanup left values behind. */
  warningCount: number;
};

/** Summarize: the run's outcome; one alert listing the failures when anything failed. */
export async function summarize(input: SummarizeInput, ctx: StepContext): Promise<SummaryOutput> {
  const results = input.results ?? [];
  const reasons = new Map((input.selection.due ?? []).map((d) => [d.certificate, d.reason]));
  const summary: RunSummary = {
    runId: input.selection.runId,
    issued: results.flatMap((r) => {
      if (r.status !== 'issued') return [];
      const reason = reasons.get(r.certificate);
      return [
        {
          certificate: r.certificate,
          notAfter: r.issued.notAfter,
          locations: r.issued.locations,
          ...(reason === undefined ? {} : { reason }),
        },
      ];
    }),
    failed: [
      // certificates SelectDue could not decide (their store could not be consulted)
      ...(input.selection.failed ?? []),
      ...results.flatMap((r) =>
        r.status === 'failed' ? [describeFailure(r.certificate, r.step, r.error)] : [],
      ),
    ],
    skipped: input.selection.skipped,
    warnings: results.flatMap((r) =>
      r.status === 'issued' && r.cleanupError
        ? [describeValuesLeft(r.certificate, r.cleanupError, r.leftRecords ?? [])]
        : [],
    ),
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
    issued: summary.issued.length,
    failed: summary.failed.length,
    skipped: summary.skipped.length,
    warnings: summary.warnings.length,
    swept: summary.swept.length,
  });
  return {
    ...summary,
    issuedCount: summary.issued.length,
    failedCount: summary.failed.length,
    skippedCount: summary.skipped.length,
    warningCount: summary.warnings.length,
  };
}
