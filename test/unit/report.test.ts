import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lambdas/core/config/load';
import { type CertificateResult, listingFor } from '../../lambdas/core/state';
import { summarize, summarizeBatch } from '../../lambdas/core/steps/summarize';
import { ENV } from '../../lambdas/runtime/env';
import { buildStepContext } from '../../lambdas/runtime/handler';
import { COMPACT_AFTER, groupedDeferrals, report } from '../../local/report';
import { STEP_WIRINGS } from '../support/step-wirings';

const NAMES = Array.from({ length: 25 }, (_, i) => `svc${String(i + 1).padStart(2, '0')}`);
const NOT_AFTER = '2027-02-27T12:00:00.000Z';

/** A Lambda error as Step Functions hands it to Catch: `{Error, Cause}`, the Cause the function's error JSON. */
const lambdaError = (errorType: string, errorMessage: string) => ({
  Error: errorType,
  Cause: JSON.stringify({ errorType, errorMessage }),
});

/**
 * The compact report (past {@link COMPACT_AFTER} certificates) on a summary made by the real
 * SummarizeBatch and Summarize steps (local wiring): each warning is listed whole, wherever its
 * certificate falls among the issued ones; the issued certificates without one are counted.
 */
describe('the run report past 20 certificates: warnings', () => {
  const saved = { ...process.env };
  let work: string;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'certflow-report-'));
    process.env[ENV.mode] = 'local';
    process.env[ENV.stateDirectory] = join(work, 'state');
    process.env[ENV.logFile] = join(work, 'handler.log');
    delete process.env[ENV.configFile];
    process.env[ENV.config] = JSON.stringify(rawConfig());
  });
  afterEach(() => {
    process.env = { ...saved };
    rmSync(work, { recursive: true, force: true });
  });

  const rawConfig = () => ({
    acme: { directory: 'https://127.0.0.1:14000/dir', email: 'ops@example.test', termsOfServiceAgreed: true },
    delegation: { zone: 'acme.certflow.test', domains: ['example.test'], nameservers: ['127.0.0.1:53'] },
    dns: {
      provider: 'rfc2136',
      server: '127.0.0.1:53',
      tsig: { name: 'k', algorithm: 'hmac-sha256', secretFile: '/dev/null' },
    },
    renewal: { useAri: false },
    storage: { localDirectory: join(work, 'certs'), defaultStores: ['local'] },
    certificates: NAMES.map((name) => ({ name, domains: [`${name}.example.test`] })),
  });

  const issued = (certificate: string, left?: string[]): CertificateResult => ({
    certificate,
    status: 'issued',
    issued: {
      certificate,
      domains: [`${certificate}.example.test`],
      keyType: 'ecdsa-p256',
      serial: '01',
      issuer: 'CN=Pebble Intermediate CA',
      notBefore: '2026-11-29T12:00:00.000Z',
      notAfter: NOT_AFTER,
      locations: [],
    },
    ...(left
      ? {
          cleanupError: lambdaError(
            'DnsUpdateRefusedError',
            'RFC 2136 UPDATE of acme.certflow.test refused by 127.0.0.1:53: REFUSED',
          ),
          leftRecords: left.map((fqdn, i) => ({ fqdn, value: `value-${i}` })),
        }
      : {}),
  });

  it('lists each certificate issued with values left behind, with its warning, even the 21st issued; counts the others', async () => {
    const config = parseConfig(rawConfig());
    expect(config.certificates.length).toBeGreaterThan(COMPACT_AFTER);
    const ctx = buildStepContext('Summarize', STEP_WIRINGS.Summarize);
    // svc01-svc24 were due, in two batches; svc25 was not due. svc03 failed, svc07 was refused
    // by the CA (rateLimited), svc22 was deferred by the budget; svc02 and svc24 (the 21st
    // issued) left values behind.
    const due = NAMES.slice(0, 24).filter((n) => n !== 'svc22');
    const result = (n: string): CertificateResult => {
      if (n === 'svc03') {
        return {
          certificate: n,
          status: 'failed',
          step: 'PublishRecords',
          error: lambdaError('DnsUpdateRefusedError', 'RFC 2136 UPDATE refused by 127.0.0.1:53: REFUSED'),
        };
      }
      if (n === 'svc07') {
        return {
          certificate: n,
          status: 'failed',
          step: 'CreateOrder',
          error: lambdaError(
            'RateLimitedError',
            'the CA refused the new order for svc07 (rateLimited): too many new orders; deferred, retry after 2026-11-29T14:00:00.000Z',
          ),
        };
      }
      if (n === 'svc02') return issued(n, ['svc02.example.test.acme.certflow.test']);
      if (n === 'svc24')
        return issued(n, ['svc24.example.test.acme.certflow.test', 'other.example.test.acme.certflow.test']);
      return issued(n);
    };
    const listing = listingFor(2);
    const batches = [
      await summarizeBatch({ summarizeBatch: true, results: due.slice(0, 12).map(result), listing }, ctx),
      await summarizeBatch({ summarizeBatch: true, results: due.slice(12).map(result), listing }, ctx),
    ];
    const summary = await summarize(
      {
        selection: {
          runId: 'run-1',
          startedAt: '2026-11-29T12:00:00.000Z',
          directoryUrl: config.acme.directoryUrl,
          dryRun: false,
          accountUrl: 'https://127.0.0.1:14000/my-account/1',
          batches,
          dueCount: due.length,
          listing,
          skipped: [{ certificate: 'svc25', reason: 'valid for 60 more days' }],
          skippedCount: 1,
          deferred: [{ certificate: 'svc22', until: '2026-11-29T13:00:00.000Z' }],
          deferredReason: 'the new-order budget (20 new orders per 1 h) is used up',
          timing: config.timing,
        },
      },
      ctx,
    );
    expect(summary.issued.map((i) => i.certificate).indexOf('svc24')).toBe(20);

    const lines: string[] = [];
    report((l) => lines.push(l), config, summary, undefined, undefined);

    expect(lines.slice(0, 2)).toEqual([
      '',
      '21 issued, 1 failed, 2 deferred, 1 not due, 2 with TXT values left behind',
    ]);
    expect(lines).toContain('FAILED   svc03 at PublishRecords: DnsUpdateRefusedError');
    expect(lines).toContain('DEFERRED svc22 until 2026-11-29T13:00:00.000Z');
    expect(lines).toContain('DEFERRED svc07 until 2026-11-29T14:00:00.000Z');
    const warned = (name: string) => {
      const at = lines.indexOf(`ISSUED   ${name} (notAfter ${NOT_AFTER}) WITH VALUES LEFT BEHIND`);
      expect(at).toBeGreaterThan(0);
      return lines[at + 1];
    };
    expect(warned('svc02')).toBe(
      '  WARNING:  cleanup failed (DnsUpdateRefusedError: RFC 2136 UPDATE of acme.certflow.test refused by 127.0.0.1:53: REFUSED); TXT values may remain: svc02.example.test.acme.certflow.test (1 value); they stay recorded as pending and the next run removes them',
    );
    expect(warned('svc24')).toContain(
      'TXT values may remain: svc24.example.test.acme.certflow.test (1 value)',
    );
    // The 19 issued without a warning, and the one not due, are counted, not listed.
    expect(lines.filter((l) => l.startsWith('ISSUED '))).toHaveLength(3);
    expect(lines).toContain(
      `ISSUED   19 more certificates (not listed past ${COMPACT_AFTER} certificates; certflow status --all lists each)`,
    );
    expect(lines).toContain(
      `NOT DUE  1 certificate (not listed past ${COMPACT_AFTER} certificates; certflow status --all lists each)`,
    );
  });
  it('says what the run-start sweep kept and why: values of runs still going, and of runs it could not check', async () => {
    const config = parseConfig(rawConfig());
    const ctx = buildStepContext('Summarize', STEP_WIRINGS.Summarize);
    const listing = listingFor(1);
    const selection = {
      runId: 'run-2',
      startedAt: '2026-11-29T12:00:00.000Z',
      directoryUrl: config.acme.directoryUrl,
      dryRun: false,
      accountUrl: 'https://127.0.0.1:14000/my-account/1',
      batches: [],
      dueCount: 0,
      listing,
      skipped: [{ certificate: 'svc01', reason: 'valid for 60 more days' }],
      skippedCount: 1,
      deferred: [],
      timing: config.timing,
    };
    const summary = await summarize(
      { selection, sweep: { removed: [], stillRunning: 2, undecided: 3 } },
      ctx,
    );
    expect(summary.sweepKept).toEqual({ stillRunning: 2, undecided: 3 });
    const lines: string[] = [];
    report((l) => lines.push(l), config, summary, undefined, undefined);
    expect(lines).toContain(
      'KEPT     2 TXT values of earlier runs still going: the first run after theirs ends removes them',
    );
    expect(lines).toContain(
      'KEPT     3 TXT values of earlier runs that could not be checked: removed once their run is known to be over, or once 24 h old',
    );

    // A sweep that kept nothing says nothing about it.
    const quiet = await summarize({ selection, sweep: { removed: [], stillRunning: 0, undecided: 0 } }, ctx);
    expect(quiet.sweepKept).toBeUndefined();
    const quietLines: string[] = [];
    report((l) => quietLines.push(l), config, quiet, undefined, undefined);
    expect(quietLines.filter((l) => l.startsWith('KEPT'))).toEqual([]);
  });
});

describe('the run report past 20 certificates: deferrals grouped by their time', () => {
  it('one line per time, earliest first: how many, until when, the first five names; a lone deferral as usual', () => {
    const at = (h: number) => `2026-12-01T${String(h).padStart(2, '0')}:00:00.000Z`;
    const deferred = [
      ...['b1', 'b2', 'b3'].map((certificate) => ({ certificate, until: at(12) })),
      ...['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'].map((certificate) => ({ certificate, until: at(11) })),
      { certificate: 'c1', until: at(13) },
    ];
    expect(groupedDeferrals(deferred)).toEqual([
      `DEFERRED 7 certificates until ${at(11)}: a1, a2, a3, a4, a5 and 2 more (certflow status lists each)`,
      `DEFERRED 3 certificates until ${at(12)}: b1, b2, b3`,
      `DEFERRED c1 until ${at(13)}`,
    ]);
  });
});
