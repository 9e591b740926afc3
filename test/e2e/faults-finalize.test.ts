import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_CODES } from '../../local/run-local';
import { type AcmeProxy, startAcmeProxy } from '../support/acme-proxy';
import { serialOf } from '../support/certificates';
import {
  alerts,
  type FaultServers,
  pendingValues,
  runInProcess,
  startFaultServers,
  verifyLive,
  writeConfig,
  zoneValues,
} from '../support/fault-harness';

/**
 * FinalizeAndStore is safe to repeat: the CA finalizes the order but its answer is
 * lost on the way back (a TLS proxy in front of Pebble drops it). A repeated finalize must find
 * the order finalized, download its certificate and store it once, with the key made for it; a
 * certificate that was not stored is never reported issued.
 */
describe('fault: the answer to finalize is lost', () => {
  let s: FaultServers;
  let proxy: AcmeProxy | undefined;
  const WWW = { name: 'www', domains: ['www.example.test'] };
  const live = () => join(s.workdir, 'certs', 'live', 'www');
  const versions = () => readdirSync(join(s.workdir, 'certs', 'archive', 'www')).length;
  const isFinalize = (method: string, path: string) =>
    method === 'POST' && path.startsWith('/finalize-order/');

  beforeAll(async () => {
    // Pebble rejects 5 % of nonces by default; a `badNonce` answer to a finalize makes the client
    // send it again (RFC 8555 §6.5), which would add a request these tests count. The fault here
    // is the lost answer alone.
    s = await startFaultServers({
      workdirPrefix: 'certflow-faults-finalize-',
      pebbleEnv: { PEBBLE_WFE_NONCEREJECT: '0' },
    });
    const first = await runInProcess(s, writeConfig(s, 'direct', { certificates: [WWW] }));
    expect(first.result.exitCode).toBe(EXIT_CODES.ok);
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    await s?.stop();
  });

  const throughProxy = async (dropFinalizeAnswers: number) => {
    let dropped = 0;
    proxy = await startAcmeProxy({
      upstreamPort: s.pebble.port,
      upstreamCaFile: s.pebble.caBundleFile,
      directory: s.workdir,
      rule: (method, path) => {
        if (!isFinalize(method, path) || dropped >= dropFinalizeAnswers) return 'pass';
        dropped += 1;
        return 'drop-answer';
      },
    });
    return writeConfig(s, `drop-${dropFinalizeAnswers}`, {
      certificates: [WWW],
      directory: proxy.directoryUrl,
      caBundleFile: proxy.caBundleFile,
    });
  };

  it('lost once: the client sends finalize again, finds the order finalized, and stores the certificate once', async () => {
    const before = { serial: serialOf(join(live(), 'cert.pem')), versions: versions() };
    const config = await throughProxy(1);
    const run = await runInProcess(s, config, { force: true });
    const finalizes = proxy?.requests.filter((r) => isFinalize(r.method, r.path)) ?? [];
    // The fault: the first finalize reached the CA and its answer was dropped; one more was sent.
    expect(finalizes.map((r) => r.fault)).toEqual(['drop-answer', 'pass']);
    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(run.text).toContain('ISSUED   www');
    expect(serialOf(join(live(), 'cert.pem'))).not.toBe(before.serial);
    expect(versions()).toBe(before.versions + 1);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });

  it('lost on every attempt of the transport: the outcome reported is what was stored, nothing is left, and the next run issues', async () => {
    const before = { versions: versions(), alerts: alerts(s.workdir).length };
    const config = await throughProxy(3);
    const run = await runInProcess(s, config, { force: true });
    const finalizes = proxy?.requests.filter((r) => isFinalize(r.method, r.path)) ?? [];
    expect(finalizes.slice(0, 3).map((r) => r.fault)).toEqual(['drop-answer', 'drop-answer', 'drop-answer']);
    // The state machine retries FinalizeAndStore (AcmeRequestError): the second attempt finds the
    // order valid, does not finalize again, downloads the certificate and stores it once, with the
    // pending key. Without that Retry this run fails at FinalizeAndStore and this test fails.
    expect(run.text).toMatch(/www\s+FinalizeAndStore\s+retrying/);
    expect(finalizes).toHaveLength(3);
    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(run.text).toContain('ISSUED   www');
    expect(run.text).not.toContain('FAILED');
    expect(alerts(s.workdir).slice(before.alerts)).toEqual([]);
    expect(versions()).toBe(before.versions + 1);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);

    // The fault gone, the next run issues.
    const next = await runInProcess(s, join(s.workdir, 'direct.json'), { force: true });
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    expect(next.text).toContain('ISSUED   www');
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
  });
});
