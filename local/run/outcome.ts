import type { CertflowConfig } from '../../lambdas/core/config/schema';
import type { SummaryOutput } from '../../lambdas/core/steps/summarize';
import { certificateEventBudget, certificatesPerBatch } from '../../lib/state-machine/limits';
import type { LocalExecution } from '../execute';
import type { LeftoverCheck } from '../leftovers';
import type { BatchExecution } from '../run-with-batches';

/**
 * Exit codes of `certflow local` (and of runLocal's result), documented in docs/local-mode.md.
 * `valuesMayRemain`: every due certificate was issued, but TXT values of this run may remain in
 * the delegated zone (Cleanup failed after issuing, or a server could not be checked); they
 * stay recorded as pending and the next run removes them.
 */
export const EXIT_CODES = {
  ok: 0,
  failed: 1,
  badConfig: 2,
  valuesMayRemain: 3,
  interrupted: { SIGINT: 130, SIGTERM: 143 },
} as const;

/** The exit code of a run that was made: interrupted, failed, values that may remain, or ok. */
export function exitCode(args: {
  interrupted: NodeJS.Signals | undefined;
  summary: SummaryOutput | undefined;
  execution: LocalExecution;
  leftovers: LeftoverCheck;
}): number {
  const { interrupted, summary, execution, leftovers } = args;
  return interrupted
    ? EXIT_CODES.interrupted[interrupted === 'SIGTERM' ? 'SIGTERM' : 'SIGINT']
    : !summary ||
        summary.failedCount > 0 ||
        (execution.status !== 'SUCCEEDED' && execution.failed?.Error !== 'CertificatesFailed')
      ? EXIT_CODES.failed
      : summary.warningCount > 0 ||
          leftovers.left.length > 0 ||
          leftovers.unchecked.length > 0 ||
          leftovers.unanswered.length > 0
        ? EXIT_CODES.valuesMayRemain
        : EXIT_CODES.ok;
}

/** One line on the history events the run used, as AWS counts them, and what that allows. */
export function printHistoryUse(
  out: (line: string) => void,
  execution: LocalExecution,
  batches: BatchExecution[],
  timing: CertflowConfig['timing'],
): void {
  const per = batches.flatMap((b) => [...(b.execution?.history.perIteration.values() ?? [])]);
  const most = per.length > 0 ? Math.max(...per) : 0;
  const batchEvents = batches.map((b) => b.execution?.history.total ?? 0);
  const largest = [
    execution.history.largestPayload.bytes,
    ...batches.map((b) => b.execution?.history.largestPayload.bytes ?? 0),
  ];
  out(
    `history: run ${execution.history.total} events${batches.length > 0 ? `, ${batches.length} batch execution(s) of at most ${Math.max(...batchEvents)} events` : ''} (AWS-counted)${per.length > 0 ? `, at most ${most} per certificate` : ''}; at this timing a certificate may use up to ${certificateEventBudget(timing)}, so a batch holds ${certificatesPerBatch(timing)} certificates; largest payload ${Math.max(...largest)} bytes`,
  );
}
