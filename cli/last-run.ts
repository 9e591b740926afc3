import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../lambdas/core/errors';
import type { SummaryOutput } from '../lambdas/core/steps/summarize';
import type { ProgressEvent } from '../local/progress';
import { runLevelFailure, summaryFrom } from '../local/report';

/** What the last run that included a certificate did with it. */
export interface CertificateRunResult {
  result: 'issued' | 'failed' | 'not due';
  /** notAfter of what was issued, the failed step and error, or why it was not due. */
  detail: string;
  /** The run: the local run directory name, or the execution ARN. */
  run: string;
  source: 'local' | 'aws';
  at?: string;
}

/** A run as a whole (the header of `certflow status`). */
export interface RunOverview {
  source: 'local' | 'aws';
  run: string;
  at?: string;
  /** SUCCEEDED, FAILED, RUNNING… (AWS), or ok / failed / incomplete (local). */
  status: string;
  issued?: number;
  failed?: number;
  notDue?: number;
  /** The run-level failure, when the run failed before its summary. */
  error?: string;
}

export interface RunHistory {
  latest?: RunOverview;
  byCertificate: Map<string, CertificateRunResult>;
}

/** Per-certificate results of one run summary. */
export function resultsOf(
  summary: SummaryOutput,
  run: string,
  source: 'local' | 'aws',
  at?: string,
): Map<string, CertificateRunResult> {
  const out = new Map<string, CertificateRunResult>();
  for (const i of summary.issued) {
    out.set(i.certificate, { result: 'issued', detail: `notAfter ${i.notAfter}`, run, source, at });
  }
  for (const f of summary.failed) {
    out.set(f.certificate, {
      result: 'failed',
      detail: `${f.step}: ${f.error}: ${f.message.split('\n')[0]}`,
      run,
      source,
      at,
    });
  }
  for (const s of summary.skipped)
    out.set(s.certificate, { result: 'not due', detail: s.reason, run, source, at });
  return out;
}

/** `2026-11-29T08-43-54-544Z` (a local run directory) → `2026-11-29T08:43:54.544Z`. */
function runTime(id: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/.exec(id);
  return m ? `${m[1]}:${m[2]}:${m[3]}.${m[4]}Z` : undefined;
}

/**
 * Local mode's run records (`<workdir>/runs/<time>/history.json`), newest first: the newest
 * run, and for each certificate the newest run that included it (looking at most `maxRuns` back).
 */
export function localRunHistory(workdir: string, certificates: string[], maxRuns = 50): RunHistory {
  const runsDir = join(workdir, 'runs');
  const byCertificate = new Map<string, CertificateRunResult>();
  if (!existsSync(runsDir)) return { byCertificate };
  const ids = readdirSync(runsDir)
    .filter((d) => runTime(d) !== undefined)
    .sort()
    .reverse()
    .slice(0, maxRuns);
  let latest: RunOverview | undefined;
  for (const id of ids) {
    const file = join(runsDir, id, 'history.json');
    const at = runTime(id);
    let events: ProgressEvent[];
    try {
      events = JSON.parse(readFileSync(file, 'utf8')) as ProgressEvent[];
    } catch (error) {
      latest ??= {
        source: 'local',
        run: id,
        at,
        status: 'incomplete',
        error: `no readable ${file} (${describeError(error)}): the run is still going, or was killed`,
      };
      continue;
    }
    const summary = summaryFrom(events);
    if (!summary) {
      // The run's own events (history.json holds the run's, then each batch execution's).
      const runArn = (events[0] as { execution?: string } | undefined)?.execution;
      const own = runArn ? events.filter((e) => (e as { execution?: string }).execution === runArn) : events;
      const failure = runLevelFailure(own);
      latest ??= {
        source: 'local',
        run: id,
        at,
        status: 'failed',
        error: failure ? `${failure.Error}: ${String(failure.Cause)}` : 'the run ended before its summary',
      };
      continue;
    }
    latest ??= {
      source: 'local',
      run: id,
      at,
      status: summary.failedCount > 0 ? 'failed' : 'ok',
      issued: summary.issuedCount,
      failed: summary.failedCount,
      notDue: summary.skippedCount,
    };
    for (const [name, result] of resultsOf(summary, id, 'local', at)) {
      if (!byCertificate.has(name)) byCertificate.set(name, result);
    }
    if (certificates.every((c) => byCertificate.has(c))) break;
  }
  return { latest, byCertificate };
}
