import type { SummaryOutput } from '../lambdas/core/steps/summarize';
import type { LeftoverCheck } from '../local/leftovers';
import type { ExecutionRecord, LocalRunResult } from '../local/run-local';

/**
 * The `certflow local --json` document (docs/cli.md): what the text report says, for scripts.
 * It carries the run's summary (the Summarize step's output: counts, then each certificate's
 * outcome), how the execution ended with its AWS-counted history events, and the leftover check.
 * Like every CLI document it holds no private key, account key, TSIG secret or EAB key: none of
 * them is in a summary, an execution record or a leftover check.
 */
export interface LocalReport {
  /** Exit code 0: every due certificate issued (or none due) and no TXT value of the run left. */
  ok: boolean;
  exitCode: number;
  runDirectory: string;
  historyFile: string;
  durationMs: number;
  caRootFile?: string;
  execution?: ExecutionRecord;
  summary?: SummaryOutput;
  leftovers?: LeftoverCheck;
  /** Why the run could not be made (exit 2: bad configuration or usage; 1: anything else). */
  error?: { name: string; message: string };
}

/** The document for one local run. */
export function localReport(result: LocalRunResult): LocalReport {
  return {
    ok: result.exitCode === 0,
    exitCode: result.exitCode,
    runDirectory: result.runDirectory,
    historyFile: result.historyFile,
    durationMs: result.durationMs,
    ...(result.caRootFile ? { caRootFile: result.caRootFile } : {}),
    ...(result.execution ? { execution: result.execution } : {}),
    ...(result.summary ? { summary: result.summary } : {}),
    ...(result.leftovers ? { leftovers: result.leftovers } : {}),
    ...(result.error ? { error: result.error } : {}),
  };
}
