import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostProcess } from '../../local/lambda-runtime';
import { EXIT_CODES } from '../../local/run-local';
import { type AcmeProxy, startAcmeProxy } from '../support/acme-proxy';
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
    await killClis();
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
      { config: file, target: 'local' },
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

  /** `certflow validate --target local -c <file>` as an operator runs it: its exit code and everything it printed. */
  const validate = async (file: string) => {
    const run = startCli(['validate', '--target', 'local', '-c', file]);
    const exit = await Promise.race([
      run.exited,
      new Promise<'hangs'>((r) => setTimeout(() => r('hangs'), 60_000)),
    ]);
    return { exit, text: run.stdout() + run.stderr() };
  };

  /** Local refuses `file` up front (exit 2, `problem` said, no request at the CA), and so does validate. */
  const expectRefusedUpFront = async (file: string, problem: string | RegExp) => {
    const before = snapshotTree(live());
    const requestsBefore = proxy.requests.length;
    const run = await runInProcess(s, file, { force: true });
    expect(run.result.exitCode).toBe(EXIT_CODES.badConfig);
    expect(run.text).toContain(`${file} is invalid`);
    if (typeof problem === 'string') expect(run.text.split('\n')).toContain(problem);
    else expect(run.text).toMatch(problem);
    expect(run.text).not.toContain('CreateOrder');
    await expectNothingChanged(before, requestsBefore);
    const checked = await validate(file);
    expect(checked.exit).toEqual({ code: 2, signal: null });
    if (typeof problem === 'string') expect(checked.text.split('\n')).toContain(problem);
    else expect(checked.text).toMatch(problem);
  };

  describe('files the configuration names: a regular file of at most 64 KiB, refused at once otherwise', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'certflow-faults-config-files-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it.each([
      {
        what: 'a TSIG secretFile of 8 MB',
        make: () => {
          const f = join(scratch, 'huge.key');
          writeFileSync(f, 'A'.repeat(8 * 1024 * 1024));
          return f;
        },
        says: (f: string) =>
          `  - dns.tsig.secretFile: "${f}" is 8388608 bytes, more than the 65536 bytes (64 KiB) such a file can be; point dns.tsig.secretFile at the right file`,
      },
      {
        what: 'a TSIG secretFile that is /dev/zero',
        make: () => '/dev/zero',
        says: () =>
          '  - dns.tsig.secretFile: "/dev/zero" is a character device, not a regular file; point dns.tsig.secretFile at the file itself',
      },
      {
        what: 'a TSIG secretFile that is a FIFO nobody writes',
        make: () => {
          const f = join(scratch, 'tsig.fifo');
          execFileSync('mkfifo', [f]);
          return f;
        },
        says: (f: string) =>
          `  - dns.tsig.secretFile: "${f}" is a named pipe (FIFO), not a regular file; point dns.tsig.secretFile at the file itself`,
      },
    ])(
      '$what: local exits 2 naming dns.tsig.secretFile and the fix, no order at the CA; validate says the same, exit 2, at once',
      async ({ make, says }) => {
        const secret = make();
        const file = throughProxy(`tsig-${secret.replace(/\W/g, '-')}`, (c) => {
          (c.dns as { tsig: { secretFile: string } }).tsig.secretFile = secret;
        });
        await expectRefusedUpFront(file, says(secret));
      },
    );

    it('an acme.caBundleFile that is a directory: exit 2 naming the field and the fix, no order at the CA', async () => {
      const file = throughProxy('ca-bundle-directory', (c) => {
        (c.acme as { caBundleFile: string }).caBundleFile = scratch;
      });
      await expectRefusedUpFront(
        file,
        `  - acme.caBundleFile: "${scratch}" is a directory, not a regular file; point acme.caBundleFile at the file itself`,
      );
    });

    it('an acme.trustAnchorsFile that is /dev/zero: exit 2 naming the field and the fix, no order at the CA', async () => {
      const file = throughProxy('trust-anchors-dev-zero', (c) => {
        (c.acme as { trustAnchorsFile: string }).trustAnchorsFile = '/dev/zero';
      });
      await expectRefusedUpFront(
        file,
        '  - acme.trustAnchorsFile: "/dev/zero" is a character device, not a regular file; point acme.trustAnchorsFile at the file itself',
      );
    });
  });

  describe('DNS name lengths: the challenge name and the validation name in the delegated zone must fit in 253 characters', () => {
    /** A name under example.test of exactly `length` characters, in labels of at most 63. */
    const nameOf = (length: number): string => {
      let rest = length - '.example.test'.length;
      const labels: string[] = [];
      for (const c of 'abcdefgh') {
        if (rest <= 0) break;
        const n = Math.min(63, rest - (rest > 63 ? 1 : 0));
        labels.push(c.repeat(n));
        rest -= n + 1;
      }
      const name = `${labels.join('.')}.example.test`;
      expect(name).toHaveLength(length);
      return name;
    };

    it.each([
      {
        length: 246,
        problems: [
          /"a{63}\.[^"]+" is too long for DNS-01: its challenge name _acme-challenge\.<name> is 262 characters, more than 253; use a name of at most 237 characters/,
          /"a{63}\.[^"]+" is too long for delegation\.zone "acme\.certflow\.test": its validation name <name>\.acme\.certflow\.test is 265 characters, more than 253; use a name of at most 234 characters, or a shorter delegation\.zone/,
        ],
      },
      {
        length: 237,
        problems: [
          /"a{63}\.[^"]+" is too long for delegation\.zone "acme\.certflow\.test": its validation name <name>\.acme\.certflow\.test is 256 characters, more than 253/,
        ],
      },
    ])(
      'a $length-character name: refused by validate and local (exit 2, certificates[0].domains[0]), no order at the CA',
      async ({ length, problems }) => {
        const file = throughProxy(`long-${length}`, (c) => {
          c.certificates = [{ name: 'long', domains: [nameOf(length)] }];
        });
        for (const problem of problems) await expectRefusedUpFront(file, problem);
        const run = await runInProcess(s, file, { force: true });
        expect(run.text).toContain(
          `${file} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):`,
        );
        expect(run.text).toContain('  - certificates[0].domains[0]: ');
      },
    );

    it('a 234-character name fits both: validate accepts it', async () => {
      const file = throughProxy('long-234', (c) => {
        c.certificates = [{ name: 'long', domains: [nameOf(234)] }];
      });
      const checked = await validate(file);
      expect(checked.exit).toEqual({ code: 0, signal: null });
      expect(checked.text).toContain(`${file}: valid (1 certificate(s))`);
    });
  });
});
