import { promises as fsp, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileAccountStore } from '../../lambdas/adapters/account/local-file-account-store';
import { LocalFileAlerter } from '../../lambdas/adapters/alerts/local-alerter';
import { LocalOrderBudgetStore } from '../../lambdas/adapters/order-budget/local-order-budget-store';
import { LocalDirectoryStore } from '../../lambdas/adapters/store/local-directory/local-directory-store';
import { parseConfig } from '../../lambdas/core/config/load';
import { InvalidInputError } from '../../lambdas/core/errors';
import { JsonLogger } from '../../lambdas/core/logger';
import type { CertificateStore } from '../../lambdas/core/ports';
import { clipReason, PAYLOAD_BOUNDS, type Selection } from '../../lambdas/core/state';
import type { StepContext } from '../../lambdas/core/steps/context';
import { selectDue } from '../../lambdas/core/steps/select-due';
import { summarize } from '../../lambdas/core/steps/summarize';
import { baseContext } from '../../lambdas/runtime/base-context';
import { configureAcmeTransport } from '../../lambdas/runtime/wiring/accounts';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';
import { RecordingMetrics } from '../support/recording-metrics';
import { createTestPki, type TestPki } from '../support/test-pki';

/**
 * SelectDue against a real CA (Pebble, for the account it registers) and real local stores with
 * real certificate files: it must decide each certificate on its own.
 */
describe('SelectDue', () => {
  let pebble: TestPebble;
  let pki: TestPki;
  let work: string;
  let storeDir: string;
  let logLines: string[];
  let metrics: RecordingMetrics;
  /** Per-certificate store directories (default: `storeDir`). */
  let storeDirs: Record<string, string>;

  beforeAll(async () => {
    pebble = await startTestPebble({ dnsServer: '127.0.0.1:53' });
    pki = createTestPki();
  });
  afterAll(async () => {
    await pebble?.stop();
    pki?.cleanup();
  });
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'certflow-select-'));
    storeDir = join(work, 'certs');
    storeDirs = {};
    logLines = [];
    metrics = new RecordingMetrics();
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const config = () =>
    parseConfig({
      acme: {
        directory: pebble.directoryUrl,
        email: 'ops@example.test',
        termsOfServiceAgreed: true,
        caBundleFile: pebble.caBundleFile,
      },
      delegation: { zone: 'acme.certflow.test', domains: ['example.test'], nameservers: ['127.0.0.1:53'] },
      dns: {
        provider: 'rfc2136',
        server: '127.0.0.1:53',
        tsig: { name: 'k', algorithm: 'hmac-sha256', secretFile: '/dev/null' },
      },
      renewal: { useAri: false },
      storage: { localDirectory: storeDir, defaultStores: ['local'] },
      certificates: [
        { name: 'apex', domains: ['example.test', '*.example.test'] },
        { name: 'www', domains: ['www.example.test'] },
        { name: 'api', domains: ['api.example.test'] },
      ],
    });

  const context = (): StepContext => {
    const cfg = config();
    configureAcmeTransport({ caBundleFile: cfg.acme.caBundleFile });
    return {
      ...baseContext(cfg),
      logger: new JsonLogger((line) => logLines.push(line), { step: 'SelectDue' }),
      metrics,
      accounts: () => new LocalFileAccountStore({ directory: join(work, 'state') }),
      eab: async () => undefined,
      dnsProvider: () => {
        throw new Error('SelectDue writes no DNS records');
      },
      stores: (certificate): CertificateStore[] => [
        new LocalDirectoryStore({ directory: storeDirs[certificate.name] ?? storeDir }),
      ],
      alerter: () => new LocalFileAlerter(join(work, 'alerts.jsonl')),
      pendingRecords: () => {
        throw new Error('SelectDue records no TXT values');
      },
      runLiveness: () => {
        throw new Error('SelectDue checks no run');
      },
      pendingKeys: () => {
        throw new Error('SelectDue keeps no order key');
      },
      orderBudget: () => new LocalOrderBudgetStore({ directory: join(work, 'state') }),
      expiryAlarms: () => {
        throw new Error('SelectDue puts no alarm');
      },
    };
  };

  /** Store a fresh 90-day certificate for `name` (not due for another two months). */
  const stored = async (name: string, domains: string[]) => {
    await new LocalDirectoryStore({ directory: storeDir }).put(pki.issue(name, domains));
  };
  const live = (name: string, file: string) => join(storeDir, 'live', name, file);
  const reasons = (selection: Selection) =>
    Object.fromEntries([
      ...selection.batches.flat().map((d) => [d.certificate, `due: ${d.reason}`]),
      ...selection.skipped.map((s) => [s.certificate, `skipped: ${s.reason}`]),
    ]);

  it('re-issues a certificate whose cert.pem is gone or whose privkey.pem is garbage, and only those', async () => {
    await stored('apex', ['example.test', '*.example.test']);
    await stored('www', ['www.example.test']);
    await stored('api', ['api.example.test']);
    await fsp.rm(live('www', 'cert.pem'));
    await fsp.writeFile(live('api', 'privkey.pem'), 'not a key\n');

    const selection = await selectDue({}, context());

    expect(selection.failed).toEqual([]);
    expect(selection.skipped.map((s) => s.certificate)).toEqual(['apex']);
    expect(selection.skipped[0]?.reason).toMatch(/^valid until /);
    const why = {
      www: `stored certificate is broken (local: ${join(storeDir, 'live', 'www')}: cannot read cert.pem: ENOENT: no such file or directory, open '${live('www', 'cert.pem')}')`,
      api: `stored certificate is broken (local: ${join(storeDir, 'live', 'api')}: privkey.pem is not a readable private key)`,
    };
    // The selection carries each reason cut to the payload budget (verdict and the end of the
    // detail); the log has it whole.
    expect(reasons(selection)).toMatchObject({
      www: `due: ${clipReason(why.www)}`,
      api: `due: ${clipReason(why.api)}`,
    });
    expect(reasons(selection).www).toMatch(
      /cannot read cert\.pem: ENOENT: no such file or directory, open '\.\.\.\/cert\.pem'\)$/,
    );
    expect(reasons(selection).www?.length).toBeLessThanOrEqual(PAYLOAD_BOUNDS.reasonChars + 5);
    const due = logLines.map((l) => JSON.parse(l)).filter((l) => l.message === 'certificate is due');
    expect(due.map((l) => [l.certificate, l.reason])).toEqual([
      ['www', why.www],
      ['api', why.api],
    ]);
    // the broken ones are logged as warnings, with the store's problem
    const warnings = logLines.map((l) => JSON.parse(l)).filter((l) => l.level === 'warn');
    expect(warnings.map((w) => [w.certificate, w.store])).toEqual([
      ['www', 'local'],
      ['api', 'local'],
    ]);
  });

  it('a corrupt metadata.json makes only that certificate due; --force selects it too', async () => {
    await stored('apex', ['example.test', '*.example.test']);
    await stored('www', ['www.example.test']);
    await fsp.writeFile(live('www', 'metadata.json'), '{"name": "www", "domains": [');

    const selection = await selectDue({}, context());
    expect(reasons(selection)).toEqual({
      apex: expect.stringMatching(/^skipped: valid until /),
      www: expect.stringMatching(/^due: stored certificate is broken \(.*metadata\.json is not valid JSON/),
      api: 'due: not issued yet',
    });

    const forced = await selectDue({ force: true }, context());
    expect(forced.batches.flat()).toEqual([
      { certificate: 'apex', reason: 'forced' },
      { certificate: 'www', reason: 'forced' },
      { certificate: 'api', reason: 'forced' },
    ]);
    expect(forced.failed).toEqual([]);
  });

  it('a store that cannot be consulted fails its certificate alone, with the OS cause, and Summarize reports it', async () => {
    await stored('apex', ['example.test', '*.example.test']);
    const blocker = join(work, 'blocker');
    writeFileSync(blocker, 'a regular file\n');
    storeDirs.www = join(blocker, 'certs');

    const ctx = context();
    const selection = await selectDue({}, ctx);

    expect(selection.batches).toEqual([[{ certificate: 'api', reason: 'not issued yet' }]]);
    expect(selection.dueCount).toBe(1);
    expect(selection.skipped.map((s) => s.certificate)).toEqual(['apex']);
    expect(selection.failed).toEqual([
      {
        certificate: 'www',
        step: 'SelectDue',
        error: 'CertificateStoreError',
        message: `local store: the directory ${storeDirs.www} cannot be used: ENOTDIR: not a directory, stat '${storeDirs.www}' (${blocker} is a regular file)`,
      },
    ]);
    const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.level === 'error');
    expect(logged).toMatchObject({
      certificate: 'www',
      error: expect.stringContaining(`ENOTDIR: not a directory, stat '${storeDirs.www}'`),
    });

    // Summarize counts it as a failure (so the run fails and the alert lists it)
    const summary = await summarize({ selection: { ...selection, batches: [] } }, ctx);
    expect(summary.failedCount).toBe(1);
    expect(summary.failed[0]).toMatchObject({
      certificate: 'www',
      step: 'SelectDue',
      error: 'CertificateStoreError',
    });
    const alert = JSON.parse(readFileSync(join(work, 'alerts.jsonl'), 'utf8').trim());
    expect(alert).toMatchObject({
      type: 'run-summary',
      failed: [{ certificate: 'www', message: expect.stringContaining('ENOTDIR') }],
    });
  });

  it('records DaysToExpiry of every stored certificate from its metadata, the threshold headroom, the counts, and a SelectDue failure', async () => {
    // apex: a 90-day certificate (threshold 10 days); www: a 6-day one (threshold 2 days)
    await new LocalDirectoryStore({ directory: storeDir }).put(
      pki.issue('apex', ['example.test', '*.example.test'], 90),
    );
    await new LocalDirectoryStore({ directory: storeDir }).put(pki.issue('www', ['www.example.test'], 6));
    const blocker = join(work, 'blocker');
    writeFileSync(blocker, 'a regular file\n');
    storeDirs.api = join(blocker, 'certs');
    const ctx = context();
    const now = new Date();
    ctx.now = () => now;

    const selection = await selectDue({}, ctx);
    expect(selection.failed?.map((f) => f.certificate)).toEqual(['api']);

    const days = (name: string) => metrics.of('DaysToExpiry', { Certificate: name });
    // one value per certificate that has a stored copy, none for the one whose store failed
    expect(days('apex')).toHaveLength(1);
    expect(days('www')).toHaveLength(1);
    expect(days('api')).toEqual([]);
    expect(days('apex')[0]).toBeGreaterThan(89);
    expect(days('apex')[0]).toBeLessThanOrEqual(90);
    expect(days('www')[0]).toBeGreaterThan(5);
    expect(days('www')[0]).toBeLessThanOrEqual(6);
    // the aggregate is the run's smallest
    expect(metrics.of('DaysToExpiry')).toEqual([days('www')[0]]);
    // headroom = days - threshold: min(lifetime / 3, 10) days
    const headroomApex = metrics.of('ExpiryHeadroomDays', { Certificate: 'apex' })[0];
    const headroomWww = metrics.of('ExpiryHeadroomDays', { Certificate: 'www' })[0];
    expect(headroomApex).toBeCloseTo(days('apex')[0] - 10, 1);
    expect(headroomWww).toBeCloseTo(days('www')[0] - 2, 1);
    expect(metrics.of('ExpiryHeadroomDays')).toEqual([Math.min(headroomApex, headroomWww)]);
    expect(metrics.of('CertificatesNotDue')).toEqual([2]);
    expect(metrics.of('CertificatesDue')).toEqual([0]);
    expect(metrics.of('CertificatesFailed', { FailedStep: 'SelectDue' })).toEqual([1]);
    expect(metrics.of('CertificatesFailed', { Certificate: 'api' })).toEqual([1]);
    // no metric value or dimension carries key material
    expect(JSON.stringify(metrics.values)).not.toMatch(/PRIVATE KEY|BEGIN/);
  });

  it('a configured threshold replaces the default, and per-certificate headroom stops at perCertificateAlarms', async () => {
    await new LocalDirectoryStore({ directory: storeDir }).put(
      pki.issue('apex', ['example.test', '*.example.test'], 90),
    );
    await new LocalDirectoryStore({ directory: storeDir }).put(pki.issue('www', ['www.example.test'], 90));
    const ctx = context();
    ctx.config = {
      ...ctx.config,
      monitoring: {
        ...ctx.config.monitoring,
        daysToExpiry: { enabled: true, thresholdDays: 30, perCertificateAlarms: 1 },
      },
    };
    await selectDue({}, ctx);
    const apex = metrics.of('DaysToExpiry', { Certificate: 'apex' })[0];
    expect(metrics.of('ExpiryHeadroomDays', { Certificate: 'apex' })[0]).toBeCloseTo(apex - 30, 1);
    expect(metrics.of('ExpiryHeadroomDays', { Certificate: 'www' })).toEqual([]);
    expect(metrics.of('DaysToExpiry', { Certificate: 'www' })).toHaveLength(1);
  });

  it("still fails the run for bad run input (that is not one certificate's problem)", async () => {
    await expect(selectDue({ certificates: ['nope'] }, context())).rejects.toThrow(InvalidInputError);
  });
});
