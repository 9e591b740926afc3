import { getJson } from '../lambdas/adapters/acme/transport/get-json';
import type { CertflowConfig, CertificateConfig } from '../lambdas/core/config/schema';
import { CertificateStoreError, describeError, StackLookupError } from '../lambdas/core/errors';
import type { CertificateMetadata, StoredCertificate } from '../lambdas/core/ports';
import { parseRenewalWindow } from '../lambdas/core/renewal/ari';
import { decideRenewal, type RenewalWindow } from '../lambdas/core/renewal/decide';
import type { SummaryOutput } from '../lambdas/core/steps/summarize';
import {
  type CliIO,
  certificateSecretNamePrefix,
  checkCertificateNames,
  EXIT,
  loadConfig,
  mapLimit,
  processIO,
  runCommand,
  type StackInfo,
  type StackOptions,
  stackOutputs,
} from './common';
import {
  type CertificateRunResult,
  localRunHistory,
  type RunHistory,
  type RunOverview,
  resultsOf,
} from './last-run';

/**
 * `certflow status`: every configured certificate as its stores hold it (local directory,
 * Secrets Manager tags of `<prefix>/certificate/<name>`, ACM), whether it is due and why, decided
 * exactly as SelectDue decides (lambdas/core/renewal/decide.ts, with the CA's ARI window where
 * offered), and what the last run did with it. Counts first, then what needs attention; `--all`
 * lists every certificate.
 *
 * States, most urgent first: `error` (a store could not be consulted: access denied, the service
 * or directory unreachable; nothing is known), `expired`, `broken` (a store holds it but cannot be
 * trusted: files missing or not matching, stale tags; the store's problem is on the line, and the
 * next run re-issues it), `not-issued`, `due`, `ok`.
 */

export interface StatusOptions extends StackOptions {
  config: string;
  json?: boolean;
  /** List every certificate, not only those needing attention. */
  all?: boolean;
  /** Only these certificates. */
  certificate?: string[];
  /** Local mode's work directory (its run records). @default ".certflow-local" */
  workdir?: string;
  /** Skip every AWS call. @default false */
  aws?: boolean;
  /** `false`: do not ask the CA for ARI windows (RFC 9773); otherwise `renewal.useAri` decides, as for SelectDue. */
  ari?: boolean;
  /** The time to decide at. @default now */
  now?: Date;
  concurrency?: number;
}

export type CertificateState = 'ok' | 'due' | 'expired' | 'not-issued' | 'broken' | 'error';

/** One store's view of a certificate (JSON: `certificates[].stores[]`). Metadata only, never key material. */
export interface StoreView {
  store: string;
  /**
   * What the store said: `absent`, `healthy`, `broken` (see `problem`), or `error` when it could
   * not be consulted (see `error`).
   */
  status: StoredCertificate['status'] | 'error';
  found: boolean;
  serial?: string;
  issuer?: string;
  keyType?: string;
  domains?: string[];
  notBefore?: string;
  notAfter?: string;
  /** What makes the stored certificate unusable (files missing, key mismatch, stale tags...). */
  problem?: string;
  error?: string;
}

/** One certificate (JSON: `certificates[]`). */
export interface CertificateStatus {
  name: string;
  domains: string[];
  keyType: string;
  state: CertificateState;
  /** What SelectDue would decide now. */
  due: boolean;
  reason: string;
  issuer?: string;
  /** The soonest notAfter across its stores. */
  notAfter?: string;
  daysLeft?: number;
  renewalWindow?: { start: string; end: string };
  stores: StoreView[];
  lastRun?: CertificateRunResult;
  /** It needs a human: not ok, or its last run failed. */
  attention: boolean;
}

/** The whole `certflow status --json` document. */
export interface StatusReport {
  ok: boolean;
  config: string;
  at: string;
  counts: Record<CertificateState, number> & { total: number; lastRunFailed: number; attention: number };
  lastRun?: RunOverview;
  notes: string[];
  certificates: CertificateStatus[];
}

const DAY = 86_400_000;

interface Reader {
  current(name: string): Promise<StoredCertificate>;
}

/** The default secret name prefix of the construct (lib/certflow-props.ts). */
const DEFAULT_SECRET_PREFIX = 'certflow';

export async function statusCommand(opts: StatusOptions, io: CliIO = processIO): Promise<number> {
  return runCommand(io, opts.json === true, async () => {
    const config = loadConfig(opts.config);
    checkCertificateNames(config, opts.certificate);
    const report = await buildStatus(config, opts);
    if (opts.json) io.out(JSON.stringify(report, null, 2));
    else printStatus(report, io, opts.all === true);
    return report.ok ? EXIT.ok : EXIT.problem;
  });
}

/** Lazily-built store readers, each built once and only when a certificate uses it. */
class Readers {
  private stack: Promise<StackInfo> | undefined;
  private readonly made = new Map<string, Promise<Reader>>();
  constructor(
    private readonly config: CertflowConfig,
    private readonly opts: StatusOptions,
    /** Where a reader says what it assumed (e.g. the default secret name prefix). */
    private readonly notes: string[],
  ) {}

  stackInfo(): Promise<StackInfo> {
    this.stack ??=
      this.opts.aws === false
        ? Promise.reject(new StackLookupError('AWS lookups are off (--no-aws)'))
        : stackOutputs(this.opts);
    return this.stack;
  }

  get(kind: string): Promise<Reader> {
    let reader = this.made.get(kind);
    if (!reader) {
      reader = this.make(kind);
      reader.catch(() => undefined);
      this.made.set(kind, reader);
    }
    return reader;
  }

  private async region(): Promise<string> {
    if (this.opts.region) return this.opts.region;
    const fromEnv = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (fromEnv) return fromEnv;
    const stack = await this.stackInfo().catch(() => undefined);
    const arn = stack?.outputs.StateMachineArn;
    const region = arn?.split(':')[3];
    if (region) return region;
    throw new StackLookupError("the stack's region is not known; pass --region");
  }

  private async make(kind: string): Promise<Reader> {
    if (kind === 'local') {
      const directory = this.config.storage.localDirectory;
      if (!directory) throw new CertificateStoreError('local: storage.localDirectory is not set');
      const { LocalDirectoryStore } = await import(
        '../lambdas/adapters/store/local-directory/local-directory-store'
      );
      const { trustAnchorsFor } = await import('../lambdas/core/certificate/trust-anchors');
      return new LocalDirectoryStore({ directory, trustAnchors: trustAnchorsFor(this.config) });
    }
    if (this.opts.aws === false) throw new StackLookupError('AWS lookups are off (--no-aws)');
    if (kind === 'secretsmanager') {
      const prefix = await certificateSecretNamePrefix(() => this.stackInfo());
      const stack = await this.stackInfo().catch((error: unknown) => error as Error);
      if (stack instanceof Error || stack.outputs.CertificateSecretNamePrefix === undefined) {
        this.notes.push(
          `certificate secrets are looked up as ${prefix}/certificate/<name>: ${
            stack instanceof Error
              ? `the stack outputs are not readable (${describeError(stack)})`
              : `${stack.source} has no CertificateSecretNamePrefix output`
          }, so the construct's default prefix "${DEFAULT_SECRET_PREFIX}" is assumed`,
        );
      }
      const { secretsManagerReader } = await import('../lambdas/adapters/store/secrets-manager/reader');
      return secretsManagerReader(prefix, await this.region());
    }
    const region = await this.region();
    const { AcmCertificateReader, createAcmClient } = await import(
      '../lambdas/adapters/store/acm/acm-reader'
    );
    return new AcmCertificateReader(createAcmClient(region), region);
  }
}

/** Fetch RFC 9773 windows from the CA, the directory once; notes say why none were fetched. */
class AriWindows {
  private base: Promise<string | undefined> | undefined;
  readonly notes: string[] = [];
  constructor(private readonly config: CertflowConfig) {}

  async windowFor(certId: string): Promise<RenewalWindow | undefined> {
    this.base ??= getJson(this.config.acme.directoryUrl, { caBundleFile: this.config.acme.caBundleFile })
      .then((r) => {
        const url = (r.body as { renewalInfo?: unknown } | undefined)?.renewalInfo;
        if (typeof url !== 'string') {
          this.notes.push(
            `${this.config.acme.directoryUrl} offers no ACME Renewal Information (RFC 9773); due dates use the lifetime threshold`,
          );
          return undefined;
        }
        return url.replace(/\/$/, '');
      })
      .catch((error: unknown) => {
        this.notes.push(
          `the CA's directory ${this.config.acme.directoryUrl} was not reachable (${describeError(error)}); due dates use the lifetime threshold, as SelectDue does when ARI fails`,
        );
        return undefined;
      });
    const base = await this.base;
    if (!base) return undefined;
    const res = await getJson(`${base}/${certId}`, { caBundleFile: this.config.acme.caBundleFile }).catch(
      () => undefined,
    );
    return res?.status === 200 ? parseRenewalWindow(res.body) : undefined;
  }
}

export async function buildStatus(config: CertflowConfig, opts: StatusOptions): Promise<StatusReport> {
  const now = opts.now ?? new Date();
  const certificates = config.certificates.filter(
    (c) => !opts.certificate?.length || opts.certificate.includes(c.name),
  );
  const notes: string[] = [];
  const readers = new Readers(config, opts, notes);
  const useAri = opts.ari !== false && config.renewal.useAri;
  const ari = new AriWindows(config);

  const history = await runHistory(opts, readers, certificates, notes);

  const results = await mapLimit(certificates, opts.concurrency ?? 16, async (cert) => {
    const stores = await Promise.all(cert.stores.map((kind) => readStore(readers, kind, cert.name)));
    const status = decide(cert, stores, now, config, undefined);
    const ariCertId = stores.find((s) => s.metadata?.ariCertId)?.metadata?.ariCertId;
    if (useAri && ariCertId && status.state !== 'error') {
      const window = await ari.windowFor(ariCertId);
      if (window)
        return {
          ...decide(cert, stores, now, config, window),
          lastRun: history.byCertificate.get(cert.name),
        };
    }
    return { ...status, lastRun: history.byCertificate.get(cert.name) };
  });
  notes.push(...ari.notes);

  const list = results.map((r) => ({ ...r, attention: r.state !== 'ok' || r.lastRun?.result === 'failed' }));
  const count = (s: CertificateState): number => list.filter((c) => c.state === s).length;
  const counts = {
    total: list.length,
    ok: count('ok'),
    due: count('due'),
    expired: count('expired'),
    'not-issued': count('not-issued'),
    broken: count('broken'),
    error: count('error'),
    lastRunFailed: list.filter((c) => c.lastRun?.result === 'failed').length,
    attention: list.filter((c) => c.attention).length,
  };
  return {
    ok: counts.expired + counts['not-issued'] + counts.broken + counts.error + counts.lastRunFailed === 0,
    config: opts.config,
    at: now.toISOString(),
    counts,
    ...(history.latest ? { lastRun: history.latest } : {}),
    notes,
    certificates: list,
  };
}

async function readStore(
  readers: Readers,
  kind: string,
  name: string,
): Promise<StoreView & { metadata?: CertificateMetadata; stored?: StoredCertificate }> {
  try {
    const stored = await (await readers.get(kind)).current(name);
    if (stored.status === 'absent') return { store: kind, status: 'absent', found: false, stored };
    const metadata = stored.metadata;
    return {
      store: kind,
      status: stored.status,
      found: true,
      ...(metadata
        ? {
            serial: metadata.serial,
            issuer: metadata.issuer,
            keyType: metadata.keyType,
            domains: metadata.domains,
            notBefore: metadata.notBefore,
            notAfter: metadata.notAfter,
            metadata,
          }
        : {}),
      ...(stored.status === 'broken' ? { problem: stored.problem } : {}),
      stored,
    };
  } catch (error) {
    return { store: kind, status: 'error', found: false, error: describeError(error) };
  }
}

/** SelectDue's decision (lambdas/core/renewal/decide.ts) for what the stores hold now. */
function decide(
  cert: CertificateConfig,
  views: (StoreView & { metadata?: CertificateMetadata; stored?: StoredCertificate })[],
  now: Date,
  config: CertflowConfig,
  window: RenewalWindow | undefined,
): Omit<CertificateStatus, 'attention' | 'lastRun'> {
  const stores = views.map(({ metadata: _m, stored: _s, ...v }) => v);
  const base = { name: cert.name, domains: cert.domains, keyType: cert.keyType, stores };
  const errors = views.filter((v) => v.error);
  if (errors.length > 0) {
    return {
      ...base,
      state: 'error',
      due: false,
      reason: errors.map((e) => `${e.store}: ${e.error}`).join('; '),
    };
  }
  const decision = decideRenewal({
    certificate: cert,
    current: views.map((v) => ({ store: v.store, stored: v.stored ?? { status: 'absent' } })),
    now,
    force: false,
    renewBeforeDays: config.renewal.renewBeforeDays,
    window,
    // SelectDue picks a random moment inside the ARI window; status reports "due" from its start.
    random: () => 0,
  });
  const found = views.flatMap((v) => (v.metadata ? [v.metadata] : []));
  const soonest = found.reduce<CertificateMetadata | undefined>(
    (a, b) => (a === undefined || Date.parse(b.notAfter) < Date.parse(a.notAfter) ? b : a),
    undefined,
  );
  const notAfter = soonest?.notAfter;
  const expired = notAfter !== undefined && now.getTime() >= Date.parse(notAfter);
  const broken = views.some((v) => v.status === 'broken');
  const state: CertificateState = !decision.due
    ? 'ok'
    : expired
      ? 'expired'
      : broken
        ? 'broken'
        : found.length === 0
          ? 'not-issued'
          : 'due';
  return {
    ...base,
    state,
    due: decision.due,
    reason: decision.reason,
    ...(soonest ? { issuer: soonest.issuer, notAfter } : {}),
    ...(notAfter ? { daysLeft: Math.floor((Date.parse(notAfter) - now.getTime()) / DAY) } : {}),
    ...(window
      ? { renewalWindow: { start: window.start.toISOString(), end: window.end.toISOString() } }
      : {}),
  };
}

/** The last run: local run records, and the deployed state machine's newest execution when AWS stores are used. */
async function runHistory(
  opts: StatusOptions,
  readers: Readers,
  certificates: CertificateConfig[],
  notes: string[],
): Promise<RunHistory> {
  const names = certificates.map((c) => c.name);
  const local = localRunHistory(opts.workdir ?? '.certflow-local', names);
  const usesAws = certificates.some((c) => c.stores.some((s) => s !== 'local'));
  if (!usesAws || opts.aws === false) return local;
  try {
    const stack = await readers.stackInfo();
    const arn = stack.outputs.StateMachineArn;
    if (!arn) {
      notes.push(`${stack.source} has no StateMachineArn output: no last run shown`);
      return local;
    }
    const { createStepFunctionsClient, regionOfArn, StepFunctionsExecutions } = await import(
      '../lambdas/adapters/aws/step-functions'
    );
    const sfn = new StepFunctionsExecutions(createStepFunctionsClient(regionOfArn(arn)));
    const latest = await sfn.latest(arn);
    if (!latest) return local;
    const at = latest.startDate?.toISOString();
    const output = await sfn.lastStateOutput(latest.executionArn, 'Summarize');
    const summary = output ? (JSON.parse(output) as { summary?: SummaryOutput }).summary : undefined;
    const overview: RunOverview = {
      source: 'aws',
      run: latest.executionArn,
      at,
      status: latest.status,
      ...(summary
        ? { issued: summary.issuedCount, failed: summary.failedCount, notDue: summary.skippedCount }
        : {}),
    };
    const byCertificate = new Map(local.byCertificate);
    if (summary)
      for (const [name, r] of resultsOf(summary, latest.executionArn, 'aws', at)) byCertificate.set(name, r);
    return { latest: overview, byCertificate };
  } catch (error) {
    notes.push(`the last run on AWS is not known: ${describeError(error)}`);
    return local;
  }
}

const STATE_LABEL: Record<CertificateState, string> = {
  ok: 'ok',
  due: 'due',
  expired: 'EXPIRED',
  broken: 'BROKEN',
  'not-issued': 'NOT ISSUED',
  error: 'ERROR',
};
const SEVERITY: Record<CertificateState, number> = {
  error: 0,
  expired: 1,
  broken: 2,
  'not-issued': 3,
  due: 5,
  ok: 6,
};
/** Most urgent first: store error, expired, broken, not issued, failed in the last run, due. */
const severity = (x: CertificateStatus): number =>
  x.lastRun?.result === 'failed' ? Math.min(4, SEVERITY[x.state]) : SEVERITY[x.state];

function printStatus(report: StatusReport, io: CliIO, all: boolean): void {
  const c = report.counts;
  io.out(
    `certflow status: ${report.config}: ${c.total} certificate${c.total === 1 ? '' : 's'} at ${report.at}`,
  );
  io.out(
    `  ${c.ok} ok, ${c.due} due, ${c.expired} expired, ${c.broken} broken, ${c['not-issued']} not issued, ${c.error} store error${c.error === 1 ? '' : 's'}; ${c.lastRunFailed} failed in their last run`,
  );
  const r = report.lastRun;
  if (r) {
    const counts =
      r.issued === undefined ? '' : `: ${r.issued} issued, ${r.failed} failed, ${r.notDue} not due`;
    io.out(
      `  last run: ${r.source} ${r.run}${r.at ? ` (${r.at})` : ''} ${r.status}${counts}${r.error ? `: ${r.error}` : ''}`,
    );
  } else {
    io.out('  last run: none found');
  }
  for (const note of report.notes) io.out(`  note: ${note}`);
  const attention = report.certificates
    .filter((x) => x.attention)
    .sort((a, b) => severity(a) - severity(b) || (a.daysLeft ?? -1e9) - (b.daysLeft ?? -1e9));
  io.out('');
  if (attention.length === 0) io.out('nothing needs attention');
  else {
    io.out(`needs attention (${attention.length}):`);
    table(attention, io);
  }
  if (all) {
    io.out('');
    io.out(`all certificates (${report.certificates.length}):`);
    table(report.certificates, io);
  } else if (report.certificates.length > attention.length) {
    io.out('');
    io.out(`(certflow status --all lists all ${report.certificates.length} certificates)`);
  }
}

/** Names for the text table: the first three, then how many more (JSON lists them all). */
function shortNames(domains: string[]): string {
  return domains.length <= 3
    ? domains.join(',')
    : `${domains.slice(0, 3).join(',')},+${domains.length - 3} more`;
}

function table(list: CertificateStatus[], io: CliIO): void {
  const rows = list.map((x) => [
    x.name,
    STATE_LABEL[x.state],
    x.daysLeft === undefined ? '-' : String(x.daysLeft),
    x.notAfter ?? '-',
    x.keyType,
    x.lastRun ? x.lastRun.result : '-',
    x.issuer ?? '-',
    shortNames(x.domains),
    x.lastRun?.result === 'failed' ? `${x.reason}; last run failed at ${x.lastRun.detail}` : x.reason,
  ]);
  const header = ['CERTIFICATE', 'STATE', 'DAYS', 'NOT AFTER', 'KEY', 'LAST RUN', 'ISSUER', 'NAMES', 'WHY'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : i === 2 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join('  ');
  io.out(line(header));
  for (const row of rows) io.out(line(row));
}
