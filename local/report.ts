import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CertflowConfig } from '../lambdas/core/config/schema';
import type { RunSummary, ValuesLeftBehind } from '../lambdas/core/ports';
import type { SweepResult } from '../lambdas/core/state';
import { causeMessage } from '../lambdas/core/steps/failure';
import type { SummaryOutput } from '../lambdas/core/steps/summarize';
import type { ProgressEvent } from './progress';

/** The first top-level state failure (SelectDue, Summarize), with the Lambda error message unwrapped. */
export function runLevelFailure(events: ProgressEvent[]): { Error: string; Cause: unknown } | undefined {
  const failed = events.find(
    (e) => e.type === 'StateFailed' && e.index === undefined && e.state?.type === 'Task',
  );
  if (failed?.type !== 'StateFailed' || !failed.state) return undefined;
  return { Error: `${failed.state.name} failed: ${failed.Error}`, Cause: causeMessage(failed.Cause) };
}

/** How {@link report} words a run that is not local mode's (`certflow run`). */
export interface ReportOptions {
  /** The prefix of the run-failed line. @default "certflow local" */
  label?: string;
  /** Issuer of each issued certificate, where no local metadata.json holds it (AWS stores). */
  issuers?: ReadonlyMap<string, string>;
  /** Why each certificate was due (SelectDue's output, see {@link dueReasonsFrom}). */
  reasons?: ReadonlyMap<string, string>;
  /** Each failure's whole message (RecordFailure's output, see {@link failureMessagesFrom}). */
  failureMessages?: ReadonlyMap<string, string>;
  /** Each warning whole, every value named (RecordValuesLeft's output, see {@link valuesLeftFrom}). */
  valuesLeft?: ReadonlyMap<string, ValuesLeftBehind>;
  /**
   * The run-start sweep's result (SweepLeftovers' output, see {@link sweepFrom}): reported from
   * here when the run failed before its summary (the sweep runs first, whatever fails after it).
   */
  sweep?: SweepResult;
}

/** The run-start sweep's result: SweepLeftovers' output, if it ran and succeeded. */
export function sweepFrom(
  events: { type: string; state?: { name: string; output?: unknown } }[],
): SweepResult | undefined {
  const exited = events.find((e) => e.type === 'StateExited' && e.state?.name === 'SweepLeftovers');
  const sweep = (exited?.state?.output as { sweep?: SweepResult } | undefined)?.sweep;
  return Array.isArray(sweep?.removed) ? sweep : undefined;
}

/** One `SWEPT` line per name the sweep removed values at. */
function sweptLines(swept: RunSummary['swept'] | undefined): string[] {
  return (swept ?? []).map(
    (s) =>
      `SWEPT    ${s.fqdn} (${s.values} value${s.values === 1 ? '' : 's'}) of ${s.certificate}, left by ${s.executionId}, which is over: ${s.reason ?? 'its run ended'}`,
  );
}

/** Each issued certificate's issuer, from FinalizeAndStore's output (a dry run stores no metadata to read it from). */
export function issuersFrom(
  events: { type: string; state?: { name: string; output?: unknown } }[],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of events) {
    if (e.type !== 'StateExited' || e.state?.name !== 'FinalizeAndStore') continue;
    const issued = (e.state.output as { issued?: { certificate?: unknown; issuer?: unknown } } | undefined)
      ?.issued;
    if (typeof issued?.certificate === 'string' && typeof issued.issuer === 'string')
      out.set(issued.certificate, issued.issuer);
  }
  return out;
}

/**
 * Each issued certificate's values left behind, whole (every name), from RecordValuesLeft's
 * output in the batch executions' events: the run summary names only the first.
 */
export function valuesLeftFrom(
  events: { type: string; state?: { name: string; output?: unknown } }[],
): Map<string, ValuesLeftBehind> {
  const out = new Map<string, ValuesLeftBehind>();
  for (const e of events) {
    if (e.type !== 'StateExited' || e.state?.name !== 'RecordValuesLeft') continue;
    const w = (e.state.output as { valuesLeftAlert?: ValuesLeftBehind } | undefined)?.valuesLeftAlert;
    if (typeof w?.certificate === 'string' && Array.isArray(w.left)) out.set(w.certificate, w);
  }
  return out;
}

/**
 * Each failed certificate's whole message, from RecordFailure's output in the (batch)
 * executions' events: the run summary carries messages cut short.
 */
export function failureMessagesFrom(
  events: { type: string; state?: { name: string; output?: unknown } }[],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of events) {
    if (e.type !== 'StateExited' || e.state?.name !== 'RecordFailure') continue;
    const f = (e.state.output as { failure?: { certificate?: unknown; message?: unknown } } | undefined)
      ?.failure;
    if (typeof f?.certificate === 'string' && typeof f.message === 'string')
      out.set(f.certificate, f.message);
  }
  return out;
}

/** Why each certificate was due: SelectDue's output (the selection's batches), by name. */
export function dueReasonsFrom(
  events: { type: string; state?: { name: string; output?: unknown } }[],
): Map<string, string> {
  const exited = events.find((e) => e.type === 'StateExited' && e.state?.name === 'SelectDue');
  const selection = (exited?.state?.output as { selection?: { batches?: unknown } } | undefined)?.selection;
  const out = new Map<string, string>();
  if (!Array.isArray(selection?.batches)) return out;
  for (const batch of selection.batches) {
    if (!Array.isArray(batch)) continue;
    for (const d of batch as { certificate?: unknown; reason?: unknown }[]) {
      if (typeof d.certificate === 'string' && typeof d.reason === 'string') out.set(d.certificate, d.reason);
    }
  }
  return out;
}

/** The run summary: the output of the Summarize state. */
export function summaryFrom(
  events: { type: string; state?: { name: string; output?: unknown } }[],
): SummaryOutput | undefined {
  const exited = events.filter((e) => e.type === 'StateExited' && e.state?.name === 'Summarize').pop();
  return (exited?.state?.output as { summary?: SummaryOutput } | undefined)?.summary;
}

/**
 * The end-of-run report: the counts first, then what needs attention (each failure, deferral and
 * warning), then, up to {@link COMPACT_AFTER} configured certificates, one block per issued
 * certificate and one line per certificate not due; past that, those are counted, not listed.
 */
export function report(
  out: (line: string) => void,
  config: CertflowConfig,
  summary: SummaryOutput | undefined,
  failed: { Error: string; Cause: unknown } | undefined,
  caRootFile: string | undefined,
  options: ReportOptions = {},
): void {
  out('');
  if (!summary) {
    out(
      `${options.label ?? 'certflow local'}: the run failed before its summary: ${failed?.Error}: ${String(failed?.Cause ?? '')}`,
    );
    for (const line of sweptLines(options.sweep?.removed)) out(line);
    for (const line of sweepKeptLines(options.sweep)) out(line);
    return;
  }
  const warnings = summary.warnings ?? [];
  const deferred = summary.deferred ?? [];
  if (summary.dryRun) {
    out(
      `DRY RUN  issued from ${summary.directoryUrl ?? 'a test CA'}; nothing was stored, the stores are as they were`,
    );
  }
  out(
    `${summary.issuedCount} issued, ${summary.failedCount} failed, ${summary.deferredCount ?? deferred.length} deferred, ${summary.skippedCount} not due${(summary.warningCount ?? warnings.length) > 0 ? `, ${summary.warningCount ?? warnings.length} with TXT values left behind` : ''}`,
  );
  // A thousand certificates stay readable: counts first, then what needs attention (each
  // failure, deferral and warning, in full); past COMPACT_AFTER configured certificates, those
  // that are fine (issued without a warning, not due) are counted, not listed.
  const compact = config.certificates.length > COMPACT_AFTER;
  const byName = new Map(config.certificates.map((c) => [c.name, c]));
  for (const fail of summary.failed) {
    out(`FAILED   ${fail.certificate} at ${fail.step}: ${fail.error}`);
    const message = options.failureMessages?.get(fail.certificate) ?? fail.message;
    for (const line of message.split('\n')) out(`  ${line}`);
  }
  if (summary.failedNotListed) {
    out(`FAILED   ${summary.failedNotListed} more (each was alerted on its own; see the handler log)`);
  }
  for (const reason of summary.deferredReasons ?? []) out(`DEFERRED because ${reason}`);
  if (compact && deferred.length > COMPACT_AFTER) {
    for (const line of groupedDeferrals(deferred)) out(line);
  } else {
    for (const d of deferred) out(`DEFERRED ${d.certificate} until ${d.until}`);
  }
  const warningOf = (certificate: string): ValuesLeftBehind | undefined =>
    options.valuesLeft?.get(certificate) ?? warnings.find((w) => w.certificate === certificate);
  if (compact) {
    let warned = 0;
    for (const issued of summary.issued) {
      const warning = warningOf(issued.certificate);
      if (!warning) continue;
      warned += 1;
      out(`ISSUED   ${issued.certificate} (notAfter ${issued.notAfter}) WITH VALUES LEFT BEHIND`);
      out(warningLine(warning));
    }
    const warningCount = summary.warningCount ?? warnings.length;
    if (warningCount > warned) {
      out(
        `ISSUED   ${warningCount - warned} more WITH VALUES LEFT BEHIND (each was alerted on its own; the next run removes the values)`,
      );
    }
    const fine = summary.issued.length - Math.max(warned, warningCount);
    if (fine > 0) out(`ISSUED   ${fine} ${warningCount > 0 ? 'more ' : ''}${notListed(fine)}`);
    const notDue = summary.skippedCount ?? summary.skipped.length;
    if (notDue > 0) out(`NOT DUE  ${notDue} ${notListed(notDue)}`);
  } else {
    for (const issued of summary.issued) {
      const cert = byName.get(issued.certificate);
      const warning = warningOf(issued.certificate);
      if (!cert) {
        out(
          `ISSUED   ${issued.certificate} (notAfter ${issued.notAfter})${warning ? ' WITH VALUES LEFT BEHIND' : ''}`,
        );
        if (warning) out(warningLine(warning));
        continue;
      }
      const live = localLive(config, cert.name);
      // A dry run stored nothing: what the store holds is the previous certificate.
      const meta = summary.dryRun
        ? undefined
        : readLocalMetadata(cert.stores.includes('local') ? live : undefined);
      out(`ISSUED   ${cert.name}${summary.dryRun ? ' (dry run)' : ''}`);
      const reason = options.reasons?.get(cert.name);
      if (reason) out(`  due:      ${reason}`);
      out(`  names:    ${cert.domains.join(', ')}`);
      out(`  key type: ${cert.keyType}`);
      out(`  issuer:   ${meta?.issuer ?? options.issuers?.get(cert.name) ?? '?'}`);
      out(`  notAfter: ${issued.notAfter}`);
      if (summary.dryRun) out('  stored:   nowhere (dry run)');
      else for (const store of cert.stores) out(storeLine(store, live));
      if (warning) out(warningLine(warning));
    }
    for (const skip of summary.skipped) out(`NOT DUE  ${skip.certificate}: ${skip.reason}`);
  }
  for (const line of sweptLines(summary.swept)) out(line);
  if (summary.sweepFailed)
    out(`WARNING: the sweep of earlier runs' TXT values failed: ${summary.sweepFailed}`);
  for (const line of sweepKeptLines(summary.sweepKept)) out(line);
  if (caRootFile && !summary.dryRun) {
    out(`CA roots (every Pebble run that issued into this directory): ${caRootFile}`);
    const first = summary.issued
      .map((i) => byName.get(i.certificate))
      .find((c) => c?.stores.includes('local'));
    if (first) {
      const dir = localLive(config, first.name);
      out(`verify:   openssl verify -CAfile ${caRootFile} -untrusted ${dir}/chain.pem ${dir}/cert.pem`);
    }
  }
}

/**
 * Past this many configured certificates the report lists only what needs attention (failures,
 * deferrals, warnings) and counts the certificates that are fine.
 */
export const COMPACT_AFTER = 20;

/** The tail of a compact report's count of certificates that are fine. */
function notListed(n: number): string {
  return `certificate${n === 1 ? '' : 's'} (not listed past ${COMPACT_AFTER} certificates; certflow status --all lists each)`;
}

/** The warning for an issued certificate whose Cleanup failed: the error and every value that may remain. */
function warningLine(warning: ValuesLeftBehind): string {
  return `  WARNING:  cleanup failed (${warning.error}: ${warning.message}); TXT values may remain: ${warning.left
    .map((l) => `${l.fqdn} (${l.values} value${l.values === 1 ? '' : 's'})`)
    .join(', ')}; they stay recorded as pending and the next run removes them`;
}

/** `<localDirectory>/live/<name>`, where the local store keeps the certificate. */
function localLive(config: CertflowConfig, name: string): string {
  return resolve(config.storage.localDirectory ?? '.', 'live', name);
}

/** Where a store keeps the certificate: files for the local store; the store's name otherwise. */
function storeLine(store: string, live: string): string {
  if (store === 'local') return `  files:    ${live}/{cert,chain,fullchain,privkey}.pem (local)`;
  return `  store:    ${store}`;
}

function readLocalMetadata(location: string | undefined): { issuer?: string } | undefined {
  if (!location) return undefined;
  try {
    return JSON.parse(readFileSync(join(location, 'metadata.json'), 'utf8')) as { issuer?: string };
  } catch {
    return undefined;
  }
}

/** What the sweep left in place, and until when (nothing when it kept nothing). */
export function sweepKeptLines(kept: RunSummary['sweepKept']): string[] {
  const values = (n: number) => `${n} TXT value${n === 1 ? '' : 's'}`;
  const lines: string[] = [];
  if (kept?.stillRunning) {
    lines.push(
      `KEPT     ${values(kept.stillRunning)} of earlier runs still going: the first run after theirs ends removes them`,
    );
  }
  if (kept?.undecided) {
    lines.push(
      `KEPT     ${values(kept.undecided)} of earlier runs that could not be checked: removed once their run is known to be over, or once 24 h old`,
    );
  }
  return lines;
}

/** Names listed on a grouped deferral line before "and N more". */
export const DEFERRED_NAMES_LISTED = 5;

/**
 * Deferrals past {@link COMPACT_AFTER}, one line per time (a first run for many certificates
 * defers hundreds, most to the same few times): how many, until when, the first names.
 */
export function groupedDeferrals(deferred: { certificate: string; until: string }[]): string[] {
  const byTime = new Map<string, string[]>();
  for (const d of deferred) byTime.set(d.until, [...(byTime.get(d.until) ?? []), d.certificate]);
  return [...byTime.entries()]
    .sort(([a], [b]) => Date.parse(a) - Date.parse(b))
    .map(([until, names]) => {
      if (names.length === 1) return `DEFERRED ${names[0]} until ${until}`;
      const shown = names.slice(0, DEFERRED_NAMES_LISTED).join(', ');
      const rest = names.length - DEFERRED_NAMES_LISTED;
      return `DEFERRED ${names.length} certificates until ${until}: ${shown}${rest > 0 ? ` and ${rest} more (certflow status lists each)` : ''}`;
    });
}
