import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostProcess } from '../../local/lambda-runtime';
import { EXIT_CODES } from '../../local/run-local';
import { type AcmeProxy, startAcmeProxy } from '../support/acme-proxy';
import { snapshotTree } from '../support/certificates';
import {
  type FaultServers,
  pendingValues,
  runInProcess,
  startFaultServers,
  verifyLive,
  writeConfig,
  zoneValues,
} from '../support/fault-harness';

/**
 * A configuration `certflow validate` rejects is rejected by `certflow local`
 * too, before anything starts: the same checks (TSIG key file, store path), the same messages,
 * exit 2 (bad configuration), and no request reaches the CA, so no order is placed. The CA is
 * reached through a loopback proxy in front of Pebble that records every request.
 */
describe('fault: a configuration that cannot work (local --external)', () => {
  let s: FaultServers;
  let proxy: AcmeProxy;
  const WWW = { name: 'www', domains: ['www.example.test'] };
  const live = () => join(s.workdir, 'certs', 'live', 'www');

  beforeAll(async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-faults-config-' });
    proxy = await startAcmeProxy({
      upstreamPort: Number(new URL(s.pebble.directoryUrl).port),
      upstreamCaFile: s.pebble.caBundleFile,
      directory: s.workdir,
      rule: () => 'pass',
    });
    // The previous certificate.
    const first = await runInProcess(s, writeConfig(s, 'direct', { certificates: [WWW] }));
    expect(first.result.exitCode).toBe(EXIT_CODES.ok);
  });
  afterAll(async () => {
    await proxy?.close();
    await s?.stop();
  });

  /** A config through the recording proxy, with `patch` applied to its parsed JSON. */
  const throughProxy = (name: string, patch: (config: Record<string, unknown>) => void): string => {
    const file = writeConfig(s, name, {
      certificates: [WWW],
      directory: proxy.directoryUrl,
      caBundleFile: proxy.caBundleFile,
    });
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    patch(config);
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  };

  const expectNothingChanged = async (before: Record<string, string>, requestsBefore: number) => {
    // No request reached the CA: no account lookup, no order.
    expect(proxy.requests.slice(requestsBefore)).toEqual([]);
    expect(snapshotTree(live())).toEqual(before);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  };

  it('a missing TSIG secretFile: exit 2 naming dns.tsig.secretFile and the file, no order at the CA, the previous certificate intact; the next run issues', async () => {
    const missing = join(s.workdir, 'no-such-tsig.key');
    const file = throughProxy('missing-tsig', (c) => {
      (c.dns as { tsig: { secretFile: string } }).tsig.secretFile = missing;
    });
    const before = snapshotTree(live());
    const requestsBefore = proxy.requests.length;

    const run = await runInProcess(s, file, { force: true });

    expect(run.result.exitCode).toBe(EXIT_CODES.badConfig);
    expect(run.result.exitCode).toBe(2);
    expect(run.text).toContain(`${file} is invalid (1 problem):`);
    const problem = `  - dns.tsig.secretFile: cannot read "${missing}" (ENOENT); create it or fix the path`;
    expect(run.lines.join('\n').split('\n')).toContain(problem);
    expect(run.text).not.toContain('PublishRecords');
    await expectNothingChanged(before, requestsBefore);

    // The same message as `certflow validate` (the one function both call).
    const { validateCommand } = await import('../../cli/validate');
    const said: string[] = [];
    const code = await validateCommand(
      { config: file },
      { out: (l: string) => said.push(l), err: (l: string) => said.push(l) },
    );
    expect(code).toBe(2);
    expect(said.join('\n').split('\n')).toContain(problem);

    // The file in place, the same configuration issues.
    writeFileSync(missing, `${s.bind.tsig.secret}\n`, { mode: 0o600 });
    const next = await runInProcess(s, file, { force: true });
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    expect(next.text).toContain('ISSUED   www');
    expect(snapshotTree(live())).not.toEqual(before);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });

  it('a TSIG secretEnv that is not set where the functions run: exit 2 naming dns.tsig.secretEnv; set there, the run issues', async () => {
    const variable = 'FAULTS_CONFIG_TSIG_SECRET';
    const env = hostProcess().env;
    delete env[variable];
    const file = throughProxy('unset-env', (c) => {
      const tsig = (c.dns as { tsig: Record<string, unknown> }).tsig;
      delete tsig.secretFile;
      tsig.secretEnv = variable;
    });
    const before = snapshotTree(live());
    const requestsBefore = proxy.requests.length;

    const run = await runInProcess(s, file, { force: true });

    expect(run.result.exitCode).toBe(EXIT_CODES.badConfig);
    expect(run.text.split('\n')).toContain(
      `  - dns.tsig.secretEnv: environment variable ${variable} is not set; export the base64 TSIG secret in it`,
    );
    await expectNothingChanged(before, requestsBefore);

    // The check reads the environment the functions read (the host process's).
    env[variable] = s.bind.tsig.secret;
    try {
      const next = await runInProcess(s, file, { force: true });
      expect(next.result.exitCode).toBe(EXIT_CODES.ok);
      expect(next.text).toContain('ISSUED   www');
      expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(s.workdir)).toEqual([]);
    } finally {
      delete env[variable];
    }
  });

  it('a store path under a regular file: exit 2 naming storage.localDirectory and ENOTDIR, no order at the CA; the other store is untouched', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'certflow-faults-config-store-'));
    try {
      const blocker = join(scratch, 'blocker');
      writeFileSync(blocker, 'not a directory\n');
      const file = throughProxy('store-under-file', (c) => {
        (c.storage as { localDirectory: string }).localDirectory = join(blocker, 'certs');
      });
      const before = snapshotTree(live());
      const requestsBefore = proxy.requests.length;

      const run = await runInProcess(s, file, { force: true });

      expect(run.result.exitCode).toBe(EXIT_CODES.badConfig);
      expect(run.text).toContain(
        `- storage.localDirectory: ${join(blocker, 'certs')} cannot be created: ${blocker} is a regular file (ENOTDIR)`,
      );
      await expectNothingChanged(before, requestsBefore);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
