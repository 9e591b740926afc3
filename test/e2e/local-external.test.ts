import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalRunResult, runLocal } from '../../local/run-local';
import { startTestBind, type TestBind } from '../support/bind-fixture';
import { opensslVerify, serialOf, snapshotTree } from '../support/certificates';
import { writeExternalConfig } from '../support/external-config';
import { expectNoSecret, localSecrets } from '../support/local-secrets';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';

/**
 * `certflow local --external`: the pipeline against servers it did not start (here a BIND and
 * a Pebble the test runs, as a team's on-premises servers would be), so the test can look at
 * the zones and files between runs.
 */
describe('local mode against external servers', () => {
  let bind: TestBind;
  let pebble: TestPebble;
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-ext-'));
  const tsigFile = join(workdir, 'tsig.key');
  const live = (name: string) => join(workdir, 'certs', 'live', name);

  beforeAll(async () => {
    bind = await startTestBind();
    // No authorization reuse: every order here must publish, validate and clean up its own records.
    pebble = await startTestPebble({
      dnsServer: `127.0.0.1:${bind.address.port}`,
      env: { PEBBLE_AUTHZREUSE: '0' },
    });
    writeFileSync(tsigFile, `${bind.tsig.secret}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await pebble?.stop();
    await bind?.stop();
  });

  const configFile = (
    name: string,
    certificates: { name: string; domains: string[] }[],
    extra: Record<string, unknown> = {},
  ) =>
    writeExternalConfig(join(workdir, `${name}.json`), {
      dns: bind,
      pebble,
      tsigFile,
      storeDirectory: join(workdir, 'certs'),
      certificates,
      extra,
    });
  /** Every line any run of this file printed (the secrets test reads them all). */
  const printed: string[] = [];
  const run = async (file: string, opts: { force?: boolean } = {}) => {
    const lines: string[] = [];
    const result: LocalRunResult = await runLocal({
      workdir,
      configFile: file,
      external: true,
      out: (l) => lines.push(l),
      ...opts,
    });
    printed.push(...lines);
    return { result, lines, text: lines.join('\n') };
  };
  const alerts = () =>
    readFileSync(join(workdir, 'state', 'alerts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('fails only the certificate whose name lacks the delegation CNAME, naming the record to add, and keeps its old files', async () => {
    const first = await run(
      configFile('initial', [
        { name: 'apex', domains: ['example.test', '*.example.test'] },
        { name: 'www', domains: ['www.example.test'] },
      ]),
    );
    expect(first.result.exitCode).toBe(0);
    const root = await pebble.rootCertificatePem();
    writeFileSync(join(workdir, 'root.pem'), root);
    expect(opensslVerify(join(workdir, 'root.pem'), live('www'))).toMatch(/: OK$/);
    const wwwBefore = snapshotTree(live('www'));
    const apexSerial = serialOf(join(live('apex'), 'cert.pem'));

    // www now also wants api.example.test, whose _acme-challenge CNAME is not in the primary zone
    const second = await run(
      configFile('missing-cname', [
        { name: 'apex', domains: ['example.test', '*.example.test'] },
        { name: 'www', domains: ['www.example.test', 'api.example.test'] },
      ]),
      { force: true },
    );
    expect(second.result.exitCode).toBe(1);
    expect(second.result.summary?.failed).toHaveLength(1);
    const failure = second.result.summary?.failed[0];
    expect(failure).toMatchObject({ certificate: 'www', step: 'CreateOrder', error: 'DelegationError' });
    expect(failure?.message).toContain('_acme-challenge.api.example.test');
    expect(failure?.message).toContain(
      '_acme-challenge.api.example.test. CNAME api.example.test.acme.certflow.test.',
    );
    expect(second.text).toContain('FAILED   www at CreateOrder: DelegationError');
    // the other certificate was issued
    expect(second.result.summary?.issued.map((i) => i.certificate)).toEqual(['apex']);
    expect(serialOf(join(live('apex'), 'cert.pem'))).not.toBe(apexSerial);
    // the failing certificate's existing files are byte-for-byte unchanged
    expect(snapshotTree(live('www'))).toEqual(wwwBefore);
    // one alert for the failed certificate, one run summary
    const sent = alerts();
    expect(
      sent.filter((a) => a.type === 'certificate-failed').map((a) => [a.certificate, a.step, a.error]),
    ).toEqual([['www', 'CreateOrder', 'DelegationError']]);
    expect(sent.filter((a) => a.type === 'run-summary')).toHaveLength(1);
    // and no TXT record is left in the delegated zone
    expect(await bind.axfrTxt()).toEqual([]);
  });

  it('cleans up records that were published when a later step fails, and keeps the previous certificate', async () => {
    const wwwBefore = snapshotTree(live('www'));
    // A second "authoritative server" that never answers: propagation can never be confirmed.
    const dns = `127.0.0.1:${bind.address.port}`;
    const file = configFile('unreachable-ns', [{ name: 'www', domains: ['www.example.test'] }], {
      delegation: {
        zone: bind.delegatedZone,
        domains: [bind.primaryZone],
        nameservers: [dns, '127.0.0.1:9'],
        resolver: dns,
      },
      timing: {
        propagationIntervalSeconds: 1,
        propagationMaxChecks: 2,
        orderIntervalSeconds: 1,
        orderMaxChecks: 30,
      },
    });
    const { result, text } = await run(file, { force: true });
    expect(result.summary).toBeDefined();
    expect(result.exitCode).toBe(1);
    expect(result.summary?.failed[0]).toMatchObject({
      certificate: 'www',
      step: 'CheckPropagation',
      error: 'PropagationTimeoutError',
    });
    expect(text).toMatch(/www\s+PublishRecords\s+ok/);
    expect(text).toMatch(/www\s+CleanupAfterFailure\s+ok/);
    expect(await bind.axfrTxt()).toEqual([]);
    expect(snapshotTree(live('www'))).toEqual(wwwBefore);
  });

  it('alerts and exits non-zero when the run itself cannot start (unknown certificate requested)', async () => {
    const file = configFile('run-failure', [{ name: 'www', domains: ['www.example.test'] }]);
    const lines: string[] = [];
    const result = await runLocal({
      workdir,
      configFile: file,
      external: true,
      certificates: ['nope'],
      out: (l) => lines.push(l),
    });
    expect(result.exitCode).toBe(1);
    const text = lines.join('\n');
    expect(text).toContain(
      'SelectDue failed: InvalidInputError: run input field "certificates" names unknown certificate(s) nope; configured: www',
    );
    const [runFailure, executionEnded] = alerts().slice(-2);
    expect(runFailure).toMatchObject({
      type: 'certificate-failed',
      certificate: '(run)',
      step: 'SelectDue',
      error: 'InvalidInputError',
    });
    // what the stack's EventBridge rule sends when an execution ends FAILED (lib/alerts/execution-ended.ts)
    expect(executionEnded).toMatchObject({ type: 'execution-ended', status: 'FAILED', error: 'RunFailed' });
    expect(String(executionEnded.message)).toMatch(
      /^certflow: renewal run local-\S+ ended FAILED\.\nExecution: arn:aws:states:/,
    );
  });

  it('keeps the TSIG secret, the certificate keys and the account key out of the history, logs, metrics, run records, alerts and printed lines', () => {
    const runsDir = join(workdir, 'runs');
    const records = ['history.json', 'handlers.log', 'metrics.jsonl', 'execution.json', 'leftover-txt.json'];
    const texts = readdirSync(runsDir).flatMap((r) =>
      records
        .filter((f) => existsSync(join(runsDir, r, f)))
        .map((f) => readFileSync(join(runsDir, r, f), 'utf8')),
    );
    texts.push(readFileSync(join(workdir, 'state', 'alerts.jsonl'), 'utf8'));
    texts.push(printed.join('\n'));
    expect(texts.length).toBeGreaterThanOrEqual(12);
    const secrets = [bind.tsig.secret, ...localSecrets(workdir)];
    for (const text of texts) expectNoSecret(text, secrets);
  });
});
