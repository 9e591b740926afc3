import { appendFileSync } from 'node:fs';
import type { Alerter, CertificateFailure, RunSummary, ValuesLeftBehind } from '../../core/ports';

/**
 * Local mode's alerter: appends one JSON line per alert to a file (the local stand-in for the
 * SNS topic). Like SNS, it gets one alert per failed certificate (and per certificate whose
 * Cleanup left values behind) and a summary when anything failed, was left or was swept.
 */
export class LocalFileAlerter implements Alerter {
  constructor(private readonly file: string) {}

  async certificateFailed(failure: CertificateFailure): Promise<void> {
    this.append({ type: 'certificate-failed', ...failure });
  }

  async valuesLeftBehind(warning: ValuesLeftBehind): Promise<void> {
    this.append({ type: 'values-left-behind', ...warning });
  }

  async runFinished(summary: RunSummary): Promise<void> {
    if (
      summary.failed.length + (summary.failedNotListed ?? 0) === 0 &&
      (summary.warnings ?? []).length === 0 &&
      (summary.swept ?? []).length === 0
    )
      return;
    this.append({ type: 'run-summary', ...summary });
  }

  private append(entry: Record<string, unknown>): void {
    appendFileSync(this.file, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  }
}
