import { appendFileSync } from 'node:fs';
import type { Alerter, CertificateFailure, RunSummary } from '../../core/ports';

/**
 * Local mode's alerter: appends one JSON line per alert to a file (the local stand-in for the
 * SNS topic). Like SNS, it gets one alert per failed certificate and a summary when anything failed.
 */
export class LocalFileAlerter implements Alerter {
  constructor(private readonly file: string) {}

  async certificateFailed(failure: CertificateFailure): Promise<void> {
    this.append({ type: 'certificate-failed', ...failure });
  }

  async runFinished(summary: RunSummary): Promise<void> {
    if (summary.failed.length === 0) return;
    this.append({ type: 'run-summary', ...summary });
  }

  private append(entry: Record<string, unknown>): void {
    appendFileSync(this.file, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  }
}
