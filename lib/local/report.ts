import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertflowConfig } from '../../lambdas/core/config/schema';
import { causeMessage } from '../../lambdas/core/steps/failure';
import type { SummaryOutput } from '../../lambdas/core/steps/summarize';
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
}

/** The run summary: the output of the Summarize state. */
export function summaryFrom(
  events: { type: string; state?: { name: string; output?: unknown } }[],
): SummaryOutput | undefined {
  const exited = events.filter((e) => e.type === 'StateExited' && e.state?.name === 'Summarize').pop();
  return (exited?.state?.output as { summary?: SummaryOutput } | undefined)?.summary;
}

/** The end-of-run report: one block per configured certificate (issued, failed, not due). */
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
    return;
  }
  for (const cert of config.certificates) {
    const issued = summary.issued.find((i) => i.certificate === cert.name);
    const fail = summary.failed.find((f) => f.certificate === cert.name);
    const skip = summary.skipped.find((s) => s.certificate === cert.name);
    if (issued) {
      const meta = readLocalMetadata(issued.locations.find((l) => l.store === 'local')?.location);
      out(`ISSUED   ${cert.name}`);
      if (issued.reason) out(`  due:      ${issued.reason}`);
      out(`  names:    ${cert.domains.join(', ')}`);
      out(`  key type: ${cert.keyType}`);
      out(`  issuer:   ${meta?.issuer ?? options.issuers?.get(cert.name) ?? '?'}`);
      out(`  notAfter: ${issued.notAfter}`);
      for (const l of issued.locations) out(locationLine(l));
      const warning = (summary.warnings ?? []).find((w) => w.certificate === cert.name);
      if (warning) {
        out(
          `  WARNING:  cleanup failed (${warning.error}: ${warning.message}); TXT values may remain: ${warning.left
            .map((l) => `${l.fqdn} (${l.values} value${l.values === 1 ? '' : 's'})`)
            .join(', ')}; they stay recorded as pending and the next run removes them`,
        );
      }
    } else if (fail) {
      out(`FAILED   ${cert.name} at ${fail.step}: ${fail.error}`);
      for (const line of fail.message.split('\n')) out(`  ${line}`);
    } else if (skip) {
      out(`NOT DUE  ${cert.name}: ${skip.reason}`);
    }
  }
  for (const swept of summary.swept ?? []) {
    out(
      `SWEPT    ${swept.fqdn} (${swept.values} value${swept.values === 1 ? '' : 's'}) of ${swept.certificate}, left by ${swept.executionId}, which is over: ${swept.reason ?? 'its run ended'}`,
    );
  }
  if (summary.sweepFailed)
    out(`WARNING: the sweep of earlier runs' TXT values failed: ${summary.sweepFailed}`);
  if (caRootFile) {
    out(`CA roots (every Pebble run that issued into this directory): ${caRootFile}`);
    const dir = summary.issued.flatMap((i) => i.locations).find((l) => l.store === 'local')?.location;
    if (dir)
      out(`verify:   openssl verify -CAfile ${caRootFile} -untrusted ${dir}/chain.pem ${dir}/cert.pem`);
  }
}

/** Where a store put the certificate: files for the local store, the ARN(s) for AWS stores. */
function locationLine(l: { store: string; location: string }): string {
  if (l.store === 'secretsmanager') return `  secret:   ${l.location} (secretsmanager)`;
  if (l.store === 'acm') return `  acm:      ${l.location} (acm)`;
  return `  files:    ${l.location}/{cert,chain,fullchain,privkey}.pem (${l.store})`;
}

function readLocalMetadata(location: string | undefined): { issuer?: string } | undefined {
  if (!location) return undefined;
  try {
    return JSON.parse(readFileSync(join(location, 'metadata.json'), 'utf8')) as { issuer?: string };
  } catch {
    return undefined;
  }
}
