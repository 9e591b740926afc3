import type { SweepResult, TaskStep } from '../../lambdas/core/state';
import type { LocalFunction } from '../lambda-runtime';
import type { BatchExecution } from '../run-with-batches';

/**
 * SIGINT/SIGTERM while the executions run: the run is stopped (`signal` aborts) and requests in
 * flight are abandoned; {@link interrupted} names the first signal.
 */
export class Interruption {
  readonly signal: AbortSignal;
  interrupted?: NodeJS.Signals;
  private readonly stop = new AbortController();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.interrupted) return;
    this.interrupted = signal;
    this.out(`certflow local: ${signal}: stopping the run and removing the TXT values it published`);
    this.stop.abort();
    // Requests in flight (a CA that does not answer) are abandoned now, not at their timeout.
    for (const f of Object.values(this.functions)) f.abortRunning();
  };

  constructor(
    private readonly functions: Record<TaskStep, LocalFunction>,
    private readonly out: (line: string) => void,
  ) {
    this.signal = this.stop.signal;
  }

  /** Listen for the signals (only when asked to: the CLI does). */
  listen(handleSignals: boolean | undefined): void {
    if (handleSignals) {
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
    }
  }

  close(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

/**
 * After an interruption: the same sweep a later run would do, for the values this run's batches
 * wrote, now.
 */
export async function sweepInterrupted(
  functions: Record<TaskStep, LocalFunction>,
  executionArn: string,
  batches: BatchExecution[],
  out: (line: string) => void,
): Promise<void> {
  let n = 0;
  for (const batch of batches) {
    const swept = (await functions.Cleanup.invoke({
      sweep: true,
      executionId: `${executionArn}:interrupted`,
      alsoOver: batch.arn,
    })) as unknown as SweepResult;
    n += swept.removed.reduce((sum, r) => sum + r.values, 0);
  }
  out(`certflow local: removed ${n} TXT value(s) this run had published`);
}
