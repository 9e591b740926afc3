import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeHttpsTransport } from '../../lambdas/adapters/acme/transport/node-https';
import { AcmeClient } from '../../lambdas/core/acme/api';
import { AcmeHttp } from '../../lambdas/core/acme/http';
import { AccountKey } from '../../lambdas/core/acme/jws';
import { EXIT_CODES } from '../../local/run-local';
import { freePort } from '../support/bind-fixture';
import { snapshotTree } from '../support/certificates';
import {
  alerts,
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
import { startTcpBarrier } from '../support/tcp-barrier';

const TEN = Array.from({ length: 10 }, (_, i) => `c${i + 1}.example.test`);
const APEX = { name: 'apex', domains: ['example.test', '*.example.test'] };
const WWW = { name: 'www', domains: ['www.example.test'] };

/**
 * The ACME CA misbehaves. Pebble rejecting 60 % of nonces (RFC 8555 §6.5 badNonce), the
 * CA not reachable at all, and two runs racing to create the account on a fresh work directory.
 */
describe('fault: the ACME CA', () => {
  describe('rejecting 60 % of nonces (PEBBLE_WFE_NONCEREJECT=60)', () => {
    let s: FaultServers;
    beforeAll(async () => {
      s = await startFaultServers({
        workdirPrefix: 'certflow-faults-nonce-',
        extraNames: TEN,
        pebbleEnv: { PEBBLE_WFE_NONCEREJECT: '60' },
      });
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('the CA really rejects most nonces (a probe of the fault, with certflow’s ACME transport)', async () => {
      let badNonces = 0;
      const http = new AcmeHttp(nodeHttpsTransport, {
        ca: readFileSync(s.pebble.caBundleFile, 'utf8'),
        onRetry: (e) => {
          if (e.reason === 'badNonce') badNonces += 1;
        },
      });
      const keyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
      const client = new AcmeClient({
        directoryUrl: s.pebble.directoryUrl,
        http,
        accountKey: new AccountKey(keyPem),
      });
      for (let i = 0; i < 20; i++) await client.newAccount({ termsOfServiceAgreed: true });
      // 20 successful requests at a 60 % rejection rate: about 30 rejections expected.
      expect(badNonces).toBeGreaterThanOrEqual(10);
    });

    it('issues all ten certificates in one run, leaves the previous certificate and nothing else behind; the next run renews with the fault still on', async () => {
      const live = (name: string) => join(s.workdir, 'certs', 'live', name);
      // The previous certificate, issued at the same rejection rate.
      const first = await runInProcess(s, writeConfig(s, 'www', { certificates: [WWW] }));
      expect(first.result.exitCode).toBe(EXIT_CODES.ok);
      const www = snapshotTree(live('www'));

      const config = writeConfig(s, 'ten', {
        certificates: [WWW, ...TEN.map((name, i) => ({ name: `c${i + 1}`, domains: [name] }))],
      });
      const run = await runInProcess(s, config);
      expect(run.result.summary?.failed).toEqual([]);
      expect(run.result.summary?.issuedCount).toBe(10);
      expect(run.result.exitCode).toBe(EXIT_CODES.ok);
      expect(run.text).toMatch(/NOT DUE {2}www: valid until/);
      for (let i = 1; i <= 10; i++) expect(await verifyLive(s, `c${i}`)).toMatch(/: OK$/);
      expect(snapshotTree(live('www'))).toEqual(www);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(s.workdir)).toEqual([]);

      // The next run (forced for two of them) succeeds; the others stay as they are.
      const others = Object.fromEntries(
        TEN.slice(2).map((_, i) => [`c${i + 3}`, snapshotTree(live(`c${i + 3}`))]),
      );
      const next = await runInProcess(s, config, { force: true, certificates: ['c1', 'www'] });
      expect(next.result.exitCode).toBe(EXIT_CODES.ok);
      expect(next.result.summary?.issued.map((i) => i.certificate).sort()).toEqual(['c1', 'www']);
      expect(snapshotTree(live('www'))).not.toEqual(www);
      expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
      expect(await verifyLive(s, 'c1')).toMatch(/: OK$/);
      for (const [name, tree] of Object.entries(others)) expect(snapshotTree(live(name))).toEqual(tree);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(s.workdir)).toEqual([]);
    });
  });

  describe('unreachable, and racing for the account', () => {
    let s: FaultServers;
    beforeAll(async () => {
      s = await startFaultServers({ workdirPrefix: 'certflow-faults-ca-' });
    });
    afterAll(async () => {
      await killClis();
      await s?.stop();
    });

    it('CA down (directory on a closed port) with certificates due: the run ends within 60 s naming the directory URL and ECONNREFUSED, exits 1, alerts', async () => {
      const directory = `https://127.0.0.1:${await freePort()}/dir`;
      const config = writeConfig(s, 'ca-down', { certificates: [APEX, WWW], directory });
      const started = Date.now();
      const run = await runInProcess(s, config);
      const seconds = (Date.now() - started) / 1000;
      process.stderr.write(`CA down, nothing issued yet: the run ended after ${seconds.toFixed(1)} s\n`);
      expect(seconds).toBeLessThan(60);
      expect(run.result.exitCode).toBe(EXIT_CODES.failed);
      expect(run.text).toContain(directory);
      expect(run.text).toContain('ECONNREFUSED');
      expect(run.text).not.toMatch(/TypeError|Cannot read properties/);
      expect(alerts(s.workdir).at(-1)).toMatchObject({ type: 'execution-ended', status: 'FAILED' });
      expect(await zoneValues(s.bind)).toEqual([]);
    });

    it('two runs at once on a fresh work directory: one account file, both succeed', async () => {
      const workdir = join(s.workdir, 'fresh');
      const certs = join(workdir, 'certs');
      // Both runs read the ACME directory at the same moment (a barrier in front of Pebble), so
      // both find no stored account and both register one: the race, every time.
      const barrier = await startTcpBarrier({
        upstream: { host: '127.0.0.1', port: s.pebble.port },
        parties: 2,
      });
      try {
        const config = writeConfig(s, 'race', {
          certificates: [APEX, WWW],
          directory: `https://127.0.0.1:${barrier.port}/dir`,
          storeDirectory: certs,
        });
        const runs = ['apex', 'www'].map((name) =>
          startCli(['local', '--external', '-c', config, '-w', workdir, '--certificate', name]),
        );
        const exits = await Promise.all(runs.map((r) => r.exited));
        expect(barrier.held).toBe(2);
        expect(exits).toEqual([
          { code: EXIT_CODES.ok, signal: null },
          { code: EXIT_CODES.ok, signal: null },
        ]);
        expect(runs[0]?.stdout()).toContain('ISSUED   apex');
        expect(runs[1]?.stdout()).toContain('ISSUED   www');
      } finally {
        await barrier.close();
      }
      // Both registered an account; one was stored, and the other run used it.
      const logs = readdirSync(join(workdir, 'runs')).map((run) =>
        readFileSync(join(workdir, 'runs', run, 'handlers.log'), 'utf8'),
      );
      const said = (message: string) => logs.filter((log) => log.includes(`"message":"${message}"`)).length;
      expect(said('created ACME account')).toBe(1);
      expect(said('another run stored an ACME account first; using it')).toBe(1);
      // One account file, the account both runs used.
      const accounts = readdirSync(join(workdir, 'state', 'accounts')).filter((f) => f.endsWith('.json'));
      expect(accounts).toHaveLength(1);
      const stored = JSON.parse(
        readFileSync(join(workdir, 'state', 'accounts', accounts[0] as string), 'utf8'),
      ) as { accountUrl: string };
      const used = logs.map((log) => /"accountUrl":"([^"]+)"/.exec(log)?.[1]);
      expect(used).toEqual([stored.accountUrl, stored.accountUrl]);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(workdir)).toEqual([]);
      expect(await verifyLive({ ...s, workdir }, 'apex')).toMatch(/: OK$/);
      expect(await verifyLive({ ...s, workdir }, 'www')).toMatch(/: OK$/);
    });

    it('CA down with the account stored and nothing due: the run ends within 60 s naming the directory URL and ECONNREFUSED, the certificates are untouched; with the CA back the next run succeeds', async () => {
      const workdir = join(s.workdir, 'ca-down-later');
      const live = (name: string) => join(workdir, 'certs', 'live', name);
      // The CA at a directory URL of its own (a pass-through proxy in front of Pebble): a first run
      // through it stores the account and both certificates; then nothing answers there.
      const up = await startTcpBarrier({ upstream: { host: '127.0.0.1', port: s.pebble.port }, parties: 1 });
      const directoryPort = up.port;
      const directory = `https://127.0.0.1:${directoryPort}/dir`;
      const config = writeConfig(s, 'ca-down-later', {
        certificates: [APEX, WWW],
        directory,
        storeDirectory: join(workdir, 'certs'),
      });
      try {
        const first = await runInProcess(s, config, { workdir });
        expect(first.result.exitCode).toBe(EXIT_CODES.ok);
      } finally {
        await up.close();
      }
      expect(readdirSync(join(workdir, 'state', 'accounts')).filter((f) => f.endsWith('.json'))).toHaveLength(
        1,
      );
      const before = { apex: snapshotTree(live('apex')), www: snapshotTree(live('www')) };
      const started = Date.now();
      const run = await runInProcess(s, config, { workdir });
      const seconds = (Date.now() - started) / 1000;
      process.stderr.write(
        `CA down, account stored, nothing due: the run ended after ${seconds.toFixed(1)} s\n`,
      );
      expect(seconds).toBeLessThan(60);
      // SelectDue confirms the account before it decides: the run fails at once, and says why.
      expect(run.result.exitCode).toBe(EXIT_CODES.failed);
      expect(run.text).toContain(
        `certflow local: the run failed before its summary: SelectDue failed: AcmeRequestError: ACME directory failed: GET ${directory}: ECONNREFUSED`,
      );
      expect(run.text).not.toMatch(/TypeError|Cannot read properties/);
      expect(snapshotTree(live('apex'))).toEqual(before.apex);
      expect(snapshotTree(live('www'))).toEqual(before.www);

      // The CA is back at the same URL: the next run renews both, with the same account.
      const back = await startTcpBarrier({
        upstream: { host: '127.0.0.1', port: s.pebble.port },
        parties: 1,
        port: directoryPort,
      });
      try {
        const again = await runInProcess(s, config, { workdir, force: true });
        expect(again.result.exitCode).toBe(EXIT_CODES.ok);
        expect(again.result.summary?.issuedCount).toBe(2);
      } finally {
        await back.close();
      }
      expect(readdirSync(join(workdir, 'state', 'accounts')).filter((f) => f.endsWith('.json'))).toHaveLength(
        1,
      );
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(workdir)).toEqual([]);
      expect(await verifyLive({ ...s, workdir }, 'apex')).toMatch(/: OK$/);
    });
  });
});
