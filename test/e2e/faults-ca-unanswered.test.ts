import { join } from 'node:path';
import { EXIT_CODES } from '../../local/run-local';
import { type AcmeFault, type AcmeProxy, startAcmeProxy } from '../support/acme-proxy';
import { snapshotTree } from '../support/certificates';
import {
  type FaultServers,
  killClis,
  pendingValues,
  runInProcess,
  startCli,
  startFaultServers,
  verifyLive,
  writeConfig,
  zoneValues,
} from '../support/fault-harness';

/**
 * A CA that accepts a request and never answers it (through a loopback proxy in front of Pebble
 * that holds chosen requests open). Each request has a total deadline (`acme.requestTimeoutSeconds`,
 * never past what the function has left), so the certificate fails at that step with the URL and
 * the bound, its values are removed, and the previous certificate stays; a run stopped with
 * SIGTERM or Ctrl-C abandons the held request at once instead of waiting for it.
 */
describe('fault: a CA that accepts and never answers', () => {
  let s: FaultServers;
  let proxy: AcmeProxy;
  const WWW = { name: 'www', domains: ['www.example.test'] };
  const live = () => join(s.workdir, 'certs', 'live', 'www');
  /** What the proxy does with each request now: the tests change it. */
  let hang: (method: string, path: string) => boolean = () => false;

  beforeAll(async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-faults-ca-unanswered-' });
    proxy = await startAcmeProxy({
      upstreamPort: Number(new URL(s.pebble.directoryUrl).port),
      upstreamCaFile: s.pebble.caBundleFile,
      directory: s.workdir,
      rule: (method, path): AcmeFault => (hang(method, path) ? 'hang' : 'pass'),
    });
    const first = await runInProcess(s, writeConfig(s, 'direct', { certificates: [WWW] }));
    expect(first.result.exitCode).toBe(EXIT_CODES.ok);
  });
  afterAll(async () => {
    await killClis();
    await proxy?.close();
    await s?.stop();
  });
  afterEach(() => {
    hang = () => false;
  });

  const throughProxy = (name: string, requestTimeoutSeconds?: number) =>
    writeConfig(s, name, {
      certificates: [WWW],
      directory: proxy.directoryUrl,
      caBundleFile: proxy.caBundleFile,
      requestTimeoutSeconds,
    });

  /** One more run with the CA answering: it issues, and nothing of ours is left. */
  const expectRecovery = async (config: string) => {
    const next = await runInProcess(s, config, { force: true });
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    expect(next.text).toContain('ISSUED   www');
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  };

  it('finalize held open: each attempt is abandoned at the configured bound, the certificate fails at FinalizeAndStore naming the URL and the bound, exit 1; the previous certificate stays and verifies; the next run issues and leaves nothing', async () => {
    const config = throughProxy('held-finalize', 2);
    const before = snapshotTree(live());
    hang = (method, path) => method === 'POST' && path.startsWith('/finalize-order/');
    const started = Date.now();
    const faulty = await runInProcess(s, config, { force: true });
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`held finalize: the run ended after ${seconds.toFixed(1)} s\n`);

    expect(faulty.result.exitCode).toBe(EXIT_CODES.failed);
    expect(faulty.text).toMatch(/FAILED {3}www at FinalizeAndStore: AcmeRequestError/);
    expect(faulty.text).toMatch(
      /ACME \w+ failed: POST https:\/\/127\.0\.0\.1:\d+\/finalize-order\/\S+: ETIMEDOUT \(no complete answer from 127\.0\.0\.1:\d+ within 2000 ms\)/,
    );
    // Held finalize requests: one per attempt of the step (the transport does not repeat a timeout).
    const held = proxy.requests.filter((r) => r.fault === 'hang');
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(held.every((r) => r.method === 'POST' && r.path.startsWith('/finalize-order/'))).toBe(true);
    expect(snapshotTree(live())).toEqual(before);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(faulty.text).toContain(`delegated zone: no TXT value of this run remains (checked at ${s.dns})`);
    expect(await zoneValues(s.bind)).toEqual([]);

    hang = () => false;
    await expectRecovery(config);
  });

  it.each([
    { signal: 'SIGTERM', code: 143 },
    { signal: 'SIGINT', code: 130 },
  ] as const)(
    '$signal while the CA holds the finalize request: the request is abandoned at once (not at its 60 s bound), the values are removed, exit $code; the previous certificate stays',
    async ({ signal, code }) => {
      const config = throughProxy(`held-${signal}`, 60);
      const before = snapshotTree(live());
      hang = (method, path) => method === 'POST' && path.startsWith('/finalize-order/');
      const heldBefore = proxy.requests.filter((r) => r.fault === 'hang').length;
      const run = startCli(['local', '--external', '-c', config, '-w', s.workdir, '--force']);
      await run.waitForLine(/www\s+CheckOrder\s+ok/);
      // Wait until the CA holds the finalize request.
      for (
        let i = 0;
        i < 300 && proxy.requests.filter((r) => r.fault === 'hang').length === heldBefore;
        i++
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(proxy.requests.filter((r) => r.fault === 'hang').length).toBe(heldBefore + 1);
      const signalled = Date.now();
      run.signal(signal);
      // Well inside the request's 60 s bound: the run did not wait for the CA.
      const exit = await Promise.race([
        run.exited,
        new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000)),
      ]);
      process.stdout.write(`${signal} with a held request: exited after ${Date.now() - signalled} ms\n`);
      expect(exit).toEqual({ code, signal: null });
      expect(run.stdout()).toContain(
        `certflow local: ${signal}: stopping the run and removing the TXT values it published`,
      );
      expect(run.stdout()).toMatch(/certflow local: removed \d+ TXT value\(s\) this run had published/);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(s.workdir)).toEqual([]);
      expect(snapshotTree(live())).toEqual(before);
      expect(await verifyLive(s, 'www')).toMatch(/: OK$/);

      hang = () => false;
      await expectRecovery(config);
    },
  );
});
