import {
  chmodSync,
  copyFileSync,
  existsSync,
  promises as fsp,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clipReason } from '../../lambdas/core/state';
import { type LocalRunResult, runLocal } from '../../local/run-local';
import { startTestBind, type TestBind } from '../support/bind-fixture';
import { opensslVerify, serialOf, snapshotTree } from '../support/certificates';
import { pendingValues, zoneValues } from '../support/fault-harness';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';
import { giveToUnprivileged, runCliUnprivileged, unprivilegedUid } from '../support/unprivileged';

/**
 * Store faults, end to end (`certflow local --external` against a real Pebble and BIND): the
 * store tells the truth about what it holds, a broken certificate is re-issued with the reason,
 * a store error reaches the report, the handler log and the alert with its OS cause and path,
 * and a certificate's failure never takes the run or the previous certificate with it.
 */
describe('store faults', () => {
  let bind: TestBind;
  let pebble: TestPebble;
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-faults-store-'));
  const certs = join(workdir, 'certs');
  const tsigFile = join(workdir, 'tsig.key');
  const live = (name: string, root = certs) => join(root, 'live', name);
  const APEX = { name: 'apex', domains: ['example.test', '*.example.test'] };
  const WWW = { name: 'www', domains: ['www.example.test'] };

  beforeAll(async () => {
    bind = await startTestBind();
    pebble = await startTestPebble({ dnsServer: `127.0.0.1:${bind.address.port}` });
    writeFileSync(tsigFile, `${bind.tsig.secret}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await pebble?.stop();
    await bind?.stop();
  });

  /** A config file; `extra` overrides top-level sections. */
  const configFile = (
    name: string,
    opts: {
      store?: string;
      certificates?: { name: string; domains: string[] }[];
      dir?: string;
      caBundle?: string;
      tsig?: string;
    } = {},
  ) => {
    const dns = `127.0.0.1:${bind.address.port}`;
    const file = join(opts.dir ?? workdir, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        acme: {
          directory: pebble.directoryUrl,
          email: 'ops@example.test',
          termsOfServiceAgreed: true,
          caBundleFile: opts.caBundle ?? pebble.caBundleFile,
        },
        delegation: {
          zone: bind.delegatedZone,
          domains: [bind.primaryZone],
          nameservers: [dns],
          resolver: dns,
        },
        dns: {
          provider: 'rfc2136',
          server: dns,
          tsig: { name: bind.tsig.name, algorithm: 'hmac-sha256', secretFile: opts.tsig ?? tsigFile },
        },
        timing: {
          propagationIntervalSeconds: 1,
          propagationMaxChecks: 10,
          orderIntervalSeconds: 1,
          orderMaxChecks: 30,
        },
        renewal: { useAri: false },
        storage: { localDirectory: opts.store ?? certs, defaultStores: ['local'] },
        certificates: opts.certificates ?? [APEX, WWW],
      }),
    );
    return file;
  };
  /**
   * The line `certflow local --external` prints once the configuration passed its checks (the
   * same as `certflow validate`), before anything is started: a fault injected on it is one the
   * check could not see, as when the disk changes under a running run.
   */
  const CHECKED = /^certflow local: using the servers in /;
  const run = async (
    file: string,
    opts: { force?: boolean; dir?: string; onLine?: (line: string) => void } = {},
  ) => {
    const lines: string[] = [];
    const result: LocalRunResult = await runLocal({
      workdir: opts.dir ?? workdir,
      configFile: file,
      external: true,
      out: (l) => {
        lines.push(l);
        opts.onLine?.(l);
      },
      force: opts.force,
    });
    const logFile = join(result.runDirectory, 'handlers.log');
    return {
      result,
      text: lines.join('\n'),
      /** The functions' log ('' when no function ran). */
      log: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '',
    };
  };
  const alerts = (dir = workdir) =>
    readFileSync(join(dir, 'state', 'alerts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const newestRun = (dir: string) => {
    const runs = readdirSync(join(dir, 'runs')).sort();
    return join(dir, 'runs', runs[runs.length - 1] as string);
  };
  const verifies = async (name: string, root = certs) => {
    writeFileSync(join(workdir, 'root.pem'), await pebble.rootCertificatePem());
    return opensslVerify(join(workdir, 'root.pem'), live(name, root));
  };
  /** No value of ours in the zone, and none recorded as pending. */
  const expectNothingLeft = async (dir = workdir) => {
    expect(await zoneValues(bind)).toEqual([]);
    expect(pendingValues(dir)).toEqual([]);
  };
  /** A run that changes nothing: every certificate NOT DUE, exit 0. */
  const expectQuietRun = async () => {
    const next = await run(configFile('steady'));
    expect(next.result.exitCode).toBe(0);
    expect(next.text).toMatch(/NOT DUE {2}apex: valid until/);
    expect(next.text).toMatch(/NOT DUE {2}www: valid until/);
  };

  it('issues both certificates into a healthy store (the baseline)', async () => {
    const first = await run(configFile('initial'));
    expect(first.result.exitCode).toBe(0);
    expect(first.result.summary?.issued.map((i) => i.certificate)).toEqual(['apex', 'www']);
    expect(await verifies('apex')).toMatch(/: OK$/);
    await expectQuietRun();
  });

  it('re-issues a certificate whose cert.pem was deleted, saying why, and leaves the other alone', async () => {
    const wwwBefore = snapshotTree(live('www'));
    await fsp.rm(join(live('apex'), 'cert.pem'));

    const { result, text, log } = await run(configFile('steady'));

    expect(result.exitCode).toBe(0);
    expect(text).toContain('ISSUED   apex');
    // The report carries the reason cut to the run's payload budget, keeping its verdict and the
    // end of its detail; SelectDue's log line has it in full.
    const why = `stored certificate is broken (local: ${live('apex')}: cannot read cert.pem: ENOENT: no such file or directory, open '${join(live('apex'), 'cert.pem')}')`;
    expect(text).toContain(`  due:      ${clipReason(why)}`);
    expect(clipReason(why)).toMatch(
      /^stored certificate is broken \(.*cannot read cert\.pem: ENOENT: no such file or directory, open '\.\.\.\/cert\.pem'\)$/,
    );
    expect(log).toContain(JSON.stringify(why).slice(1, -1));
    expect(text).toMatch(/NOT DUE {2}www: valid until/);
    expect(snapshotTree(live('www'))).toEqual(wwwBefore);
    expect(await verifies('apex')).toMatch(/: OK$/);
    expect(await bind.axfrTxt()).toEqual([]);
    await expectQuietRun();
  });

  it('re-issues a certificate whose privkey.pem is garbage, saying why, and leaves the other alone', async () => {
    const apexBefore = snapshotTree(live('apex'));
    const serialBefore = serialOf(join(live('www'), 'cert.pem'));
    await fsp.writeFile(join(live('www'), 'privkey.pem'), 'this is not a key\n');

    const { result, text } = await run(configFile('steady'));

    expect(result.exitCode).toBe(0);
    expect(text).toContain('ISSUED   www');
    expect(text).toContain(
      `  due:      ${clipReason(`stored certificate is broken (local: ${live('www')}: privkey.pem is not a readable private key)`)}`,
    );
    expect(text).toContain('privkey.pem is not a readable private key)');
    expect(serialOf(join(live('www'), 'cert.pem'))).not.toBe(serialBefore);
    expect(await verifies('www')).toMatch(/: OK$/);
    expect(text).toMatch(/NOT DUE {2}apex: valid until/);
    expect(snapshotTree(live('apex'))).toEqual(apexBefore);
    await expectNothingLeft();
    await expectQuietRun();
  });

  it('a corrupt metadata.json re-issues only that certificate; the other is still decided and the run completes', async () => {
    const wwwBefore = snapshotTree(live('www'));
    await fsp.writeFile(join(live('apex'), 'metadata.json'), '{"name": "apex", "domains": [');

    const { result, text } = await run(configFile('steady'));

    expect(result.exitCode).toBe(0);
    expect(result.summary?.issued.map((i) => i.certificate)).toEqual(['apex']);
    expect(text).toMatch(/ {2}due: {6}stored certificate is broken \(.*metadata\.json is not valid JSON/);
    expect(text).toMatch(/NOT DUE {2}www: valid until/);
    expect(JSON.parse(readFileSync(join(live('apex'), 'metadata.json'), 'utf8'))).toMatchObject({
      name: 'apex',
    });
    expect(await verifies('apex')).toMatch(/: OK$/);
    expect(snapshotTree(live('www'))).toEqual(wwwBefore);
    await expectNothingLeft();
    await expectQuietRun();
  });

  it('--force works with a corrupt record', async () => {
    await fsp.writeFile(join(live('www'), 'metadata.json'), 'garbage');
    const { result, text } = await run(configFile('steady'), { force: true });
    expect(result.exitCode).toBe(0);
    expect(result.summary?.issued.map((i) => i.certificate)).toEqual(['apex', 'www']);
    expect(text.match(/ {2}due: {6}forced$/gm)).toHaveLength(2);
    expect(await verifies('apex')).toMatch(/: OK$/);
    expect(await verifies('www')).toMatch(/: OK$/);
    expect(JSON.parse(readFileSync(join(live('www'), 'metadata.json'), 'utf8'))).toMatchObject({
      name: 'www',
    });
    await expectNothingLeft();
    await expectQuietRun();
  });

  it('a store directory that comes to lie under a regular file after the configuration check fails each certificate alone at SelectDue, with ENOTDIR and the path in the report, the handler log and the alert', async () => {
    const blocker = join(workdir, 'blocker');
    const root = join(blocker, 'certs');
    const file = configFile('under-a-file', { store: root });

    // (A store path under a regular file at the start is refused before the run: faults-config.)
    const { result, text, log } = await run(file, {
      onLine: (l) => {
        if (CHECKED.test(l)) writeFileSync(blocker, 'not a directory\n');
      },
    });

    expect(result.exitCode).toBe(1);
    const message = `local store: the directory ${root} cannot be used: ENOTDIR: not a directory, stat '${root}' (${blocker} is a regular file)`;
    expect(text).toContain(`FAILED   apex at SelectDue: CertificateStoreError\n  ${message}`);
    expect(text).toContain(`FAILED   www at SelectDue: CertificateStoreError\n  ${message}`);
    expect(log).toContain(message);
    const summary = alerts()
      .filter((a) => a.type === 'run-summary')
      .pop();
    expect(summary).toMatchObject({ type: 'run-summary' });
    expect(
      ((summary?.failed ?? []) as { certificate: string; message: string }[]).map((f) => [
        f.certificate,
        f.message,
      ]),
    ).toEqual([
      ['apex', message],
      ['www', message],
    ]);
    // nothing was ordered, so nothing was published
    expect(log).not.toContain('"step":"CreateOrder"');
    expect(await bind.axfrTxt()).toEqual([]);

    // once the file is gone, the same configuration works
    await fsp.rm(blocker);
    const next = await run(file);
    expect(next.result.exitCode).toBe(0);
    expect(next.result.summary?.issued.map((i) => i.certificate)).toEqual(['apex', 'www']);
    expect(await verifies('apex', root)).toMatch(/: OK$/);
  });

  it('an archive/ that becomes a regular file after the configuration check fails FinalizeAndStore with ENOTDIR and the path, through the wrapper, into the report, log and alert', async () => {
    const root = join(workdir, 'certs-archive-file');
    mkdirSync(root);
    const file = configFile('archive-file', { store: root, certificates: [WWW] });

    const { result, text, log } = await run(file, {
      onLine: (l) => {
        if (CHECKED.test(l)) writeFileSync(join(root, 'archive'), '');
      },
    });

    expect(result.exitCode).toBe(1);
    const cause = `ENOTDIR: ${join(root, 'archive')} exists and is not a directory; move it away`;
    const message = `storing www in local failed (already stored in: none): storing "www" in ${root} failed while preparing directories: ${cause}; ${live('www', root)} is unchanged`;
    expect(text).toContain(`FAILED   www at FinalizeAndStore: CertificateStoreError\n  ${message}`);
    expect(log).toContain(cause);
    expect(
      alerts()
        .filter((a) => a.type === 'certificate-failed')
        .pop(),
    ).toMatchObject({
      certificate: 'www',
      step: 'FinalizeAndStore',
      error: 'CertificateStoreError',
      message,
    });
    expect(await bind.axfrTxt()).toEqual([]);

    await fsp.rm(join(root, 'archive'));
    expect((await run(file)).result.exitCode).toBe(0);
    expect(await verifies('www', root)).toMatch(/: OK$/);
  });

  /**
   * Tests run as root, and root passes file-mode checks, so the run that must meet EACCES is the
   * real CLI in a child process running as `nobody` (setuid/setgid): the kernel refuses it.
   */
  describe(`a store this user cannot write to (CLI as uid ${unprivilegedUid})`, () => {
    const userDir = join(workdir, 'unprivileged');
    let file: string;
    beforeAll(() => {
      chmodSync(workdir, 0o711); // mkdtemp made it 0700: let the other user reach its own directory
      mkdirSync(userDir);
      // what the unprivileged run needs to read or write: its workdir, the TSIG key, the CA bundle
      const tsig = join(userDir, 'tsig.key');
      const ca = join(userDir, 'pebble-ca.pem');
      writeFileSync(tsig, `${bind.tsig.secret}\n`, { mode: 0o600 });
      copyFileSync(pebble.caBundleFile, ca);
      giveToUnprivileged(userDir, tsig, ca);
      file = configFile('unprivileged', { dir: userDir, caBundle: ca, tsig });
    });
    const runAsUser = async (
      config: string,
      opts: { extra?: string[]; status?: number; onStdout?: (stdout: string) => void } = {},
    ) => {
      const child = await runCliUnprivileged(
        ['local', '--external', '-c', config, '-w', join(userDir, 'work'), ...(opts.extra ?? [])],
        userDir,
        opts.onStdout,
      );
      if (child.status !== (opts.status ?? 1))
        throw new Error(`the unprivileged CLI exited ${child.status}:\n${child.stdout}\n${child.stderr}`);
      const logFile = join(newestRun(join(userDir, 'work')), 'handlers.log');
      return { ...child, log: existsSync(logFile) ? readFileSync(logFile, 'utf8') : undefined };
    };

    it('a fresh store directory it can no longer write once the run started: FinalizeAndStore fails with EACCES and the path, in report, log and alert', async () => {
      const root = join(workdir, 'certs-readonly');
      // Writable when the configuration is checked, read-only from then on (a read-only store
      // at the start is refused before the run: the next test).
      mkdirSync(root);
      chmodSync(root, 0o777);
      const config = configFile('unprivileged-readonly', {
        dir: userDir,
        store: root,
        caBundle: join(userDir, 'pebble-ca.pem'),
        tsig: join(userDir, 'tsig.key'),
        certificates: [WWW],
      });
      giveToUnprivileged(config);

      let madeReadOnly = false;
      const child = await runAsUser(config, {
        onStdout: (stdout) => {
          if (madeReadOnly || !stdout.includes('certflow local: using the servers in')) return;
          chmodSync(root, 0o555);
          madeReadOnly = true;
        },
      });

      expect(child.status).toBe(1);
      const cause = `EACCES: permission denied, mkdir '${join(root, 'live')}'`;
      expect(child.stdout).toContain('FAILED   www at FinalizeAndStore: CertificateStoreError');
      expect(child.stdout).toContain(
        `  storing www in local failed (already stored in: none): storing "www" in ${root} failed while preparing directories: ${cause}; ${live('www', root)} is unchanged`,
      );
      expect(child.log).toContain(cause);
      const failure = alerts(join(userDir, 'work')).find((a) => a.type === 'certificate-failed');
      expect(failure).toMatchObject({
        certificate: 'www',
        step: 'FinalizeAndStore',
        message: expect.stringContaining(cause),
      });
      expect(readdirSync(root)).toEqual([]);
      await expectNothingLeft(join(userDir, 'work'));

      // A runner that may write there (root, with a work directory of its own, so the
      // unprivileged runs below can still read theirs): the same store configuration issues.
      const rootWork = join(workdir, 'after-eacces');
      const next = await run(config, { dir: rootWork });
      expect(next.result.exitCode).toBe(0);
      expect(next.text).toContain('ISSUED   www');
      expect(await verifies('www', root)).toMatch(/: OK$/);
      await expectNothingLeft(rootWork);
    });

    it('an existing store it cannot write: refused before the run (exit 2) with EACCES and each directory; nothing ordered, the certificates stay byte for byte', async () => {
      const before = { apex: snapshotTree(live('apex')), www: snapshotTree(live('www')) };
      const child = await runAsUser(file, { extra: ['--force'], status: 2 });
      expect(child.stdout).toContain(`${file} is invalid (3 problems):`);
      for (const dir of [certs, join(certs, 'live'), join(certs, 'archive')]) {
        expect(child.stdout).toContain(
          `  - storage.localDirectory: ${dir} cannot hold new certificates: ${dir} is not writable by this user (uid ${unprivilegedUid}): EACCES: permission denied, access '${dir}'`,
        );
      }
      // No function ran: nothing was ordered or published.
      expect(child.log).toBeUndefined();
      expect(child.stdout).not.toContain('PublishRecords');
      expect(snapshotTree(live('apex'))).toEqual(before.apex);
      expect(snapshotTree(live('www'))).toEqual(before.www);
      expect(await bind.axfrTxt()).toEqual([]);
      await expectQuietRun();
    });

    it('an existing store whose certificate directories it cannot write: the previous certificates stay byte for byte, and the next (privileged) run succeeds', async () => {
      const before = { apex: snapshotTree(live('apex')), www: snapshotTree(live('www')) };
      // The store and its live/ and archive/ pass the check (writable by anyone for this test);
      // archive/<name> is already 0700 root, and 0555 makes it unwritable for a non-root runner too.
      const opened = [certs, join(certs, 'live'), join(certs, 'archive')];
      for (const dir of opened) chmodSync(dir, 0o777);
      chmodSync(join(certs, 'archive', 'apex'), 0o555);
      chmodSync(join(certs, 'archive', 'www'), 0o555);
      try {
        const child = await runAsUser(file, { extra: ['--force'] });
        expect(child.status).toBe(1);
        for (const name of ['apex', 'www']) {
          expect(child.stdout).toContain(`FAILED   ${name} at FinalizeAndStore: CertificateStoreError`);
          expect(child.stdout).toMatch(
            new RegExp(
              `storing ${name} in local failed \\(already stored in: none\\): storing "${name}" in ${certs} failed while .*EACCES: permission denied, \\w+ '${certs}/archive/${name}`,
            ),
          );
        }
        expect(child.log).toContain('EACCES: permission denied');
        expect(snapshotTree(live('apex'))).toEqual(before.apex);
        expect(snapshotTree(live('www'))).toEqual(before.www);
        expect(await bind.axfrTxt()).toEqual([]);
      } finally {
        chmodSync(join(certs, 'archive', 'apex'), 0o700);
        chmodSync(join(certs, 'archive', 'www'), 0o700);
        for (const dir of opened) chmodSync(dir, 0o700);
      }
      await expectQuietRun();
    });
  });

  it('a store path under /proc is refused before the run (exit 2) with a clear error naming the path, and places no order', async () => {
    const root = '/proc/certflow-test/certs';
    const before = { apex: snapshotTree(live('apex')), www: snapshotTree(live('www')) };
    const { result, text, log } = await run(configFile('proc', { store: root }));
    expect(result.exitCode).toBe(2);
    const message = `${root} is under /proc, a kernel pseudo-filesystem that cannot hold certificate files; choose a directory on a disk, such as /etc/letsencrypt or /var/lib/certflow`;
    expect(text).toContain(`  - storage.localDirectory: ${message}`);
    // No function ran: nothing was ordered or published; the other store is as it was.
    expect(log).toBe('');
    expect(await bind.axfrTxt()).toEqual([]);
    expect(snapshotTree(live('apex'))).toEqual(before.apex);
    expect(snapshotTree(live('www'))).toEqual(before.www);
    // The store path fixed, the next run succeeds.
    await expectQuietRun();
  });
});
