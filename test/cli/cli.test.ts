import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireProgram } from '../support/dns-process';

/** The operator CLI as a user runs it (`npm run certflow -- ...`). */
const cli = (...args: string[]) =>
  spawnSync('npx', ['tsx', 'bin/certflow.ts', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('certflow CLI', () => {
  it('validate: accepts the example config and lists every problem of a broken one', () => {
    const ok = cli('validate', '-c', 'certflow.config.example.json');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe('certflow.config.example.json: valid (2 certificate(s))\n');

    const file = join(mkdtempSync(join(tmpdir(), 'certflow-cli-')), 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ acme: { directory: 'nope', email: 'x', termsOfServiceAgreed: true } }),
    );
    const bad = cli('validate', '-c', file);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`${file} is invalid (5 problems):`);
    expect(bad.stderr).toContain('  - acme.email: must be an email address the CA can write to');
    expect(bad.stderr).toContain(
      '  - certificates: is required (array); see the configuration table in docs/configuration.md',
    );
  });

  it('validate --target local: checks the local store directory without creating it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certflow-cli-'));
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, '');
    const file = join(dir, 'store.json');
    const config = (localDirectory: string) =>
      JSON.stringify({
        acme: { directory: 'letsencrypt-staging', email: 'ops@example.com', termsOfServiceAgreed: true },
        delegation: { zone: 'acme.example.net', domains: ['example.com'] },
        dns: { provider: 'route53', createHostedZone: true },
        storage: { localDirectory, defaultStores: ['local'] },
        certificates: [{ name: 'www', domains: ['www.example.com'] }],
      });
    writeFileSync(file, config(join(blocker, 'certs')));
    const bad = cli('validate', '--target', 'local', '-c', file);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      `${file} is invalid (1 problem):\n  - storage.localDirectory: ${join(blocker, 'certs')} cannot be created: ${blocker} is a regular file (ENOTDIR); point storage.localDirectory elsewhere or move ${blocker} away\n`,
    );

    writeFileSync(file, config(join(dir, 'certs')));
    const ok = cli('validate', '--target', 'local', '-c', file);
    expect(ok.stdout).toBe(`${file}: valid (1 certificate(s))\n`);
    expect(existsSync(join(dir, 'certs'))).toBe(false);
  });

  it('validate --target local: checks the TSIG key file and key name of an rfc2136 config without contacting the server', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certflow-cli-'));
    const keyFile = join(dir, 'knot.key');
    // The key file as Knot's own tool writes it.
    writeFileSync(
      keyFile,
      execFileSync(requireProgram('keymgr', 'knot'), ['-t', 'certflow-acme', 'hmac-sha512'], {
        encoding: 'utf8',
      }),
    );
    const config = (tsig: Record<string, string>) => {
      const file = join(dir, `${tsig.name?.replace(/\W/g, '_')}-${Object.keys(tsig).length}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          acme: { directory: 'letsencrypt-staging', email: 'ops@example.test', termsOfServiceAgreed: true },
          delegation: { zone: 'acme.certflow.test', domains: ['example.test'] },
          // Port 9 (discard): validate must never send anything there.
          dns: { provider: 'rfc2136', server: '127.0.0.1:9', tsig },
          storage: { localDirectory: join(dir, 'certs'), defaultStores: ['local'] },
          certificates: [{ name: 'www', domains: ['www.example.test'] }],
        }),
      );
      return file;
    };

    const good = config({ name: 'certflow-acme', algorithm: 'hmac-sha512', secretFile: keyFile });
    const ok = cli('validate', '--target', 'local', '-c', good);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe(`${good}: valid (1 certificate(s))\n`);
    expect(ok.status).toBe(0);

    const missing = config({
      name: 'certflow acme',
      algorithm: 'hmac-sha256',
      secretFile: join(dir, 'nope.key'),
    });
    const bad = cli('validate', '--target', 'local', '-c', missing);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      `${missing} is invalid (2 problems):\n` +
        '  - dns.tsig.name: "certflow acme" is not a key name: "certflow acme" is not a label of letters, digits, "-" or "_" (1-63 characters, not starting or ending with "-"); use the name exactly as the server\'s key configuration spells it\n' +
        `  - dns.tsig.secretFile: cannot read "${join(dir, 'nope.key')}" (ENOENT); create it or fix the path\n`,
    );

    const mismatch = config({ name: 'certflow-acme', secretFile: keyFile });
    const wrong = cli('validate', '--target', 'local', '-c', mismatch);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toBe(
      `${mismatch} is invalid (1 problem):\n  - dns.tsig.algorithm: is hmac-sha256 but key "certflow-acme" in "${keyFile}" is hmac-sha512; set dns.tsig.algorithm to "hmac-sha512"\n`,
    );
  });

  it('definition: prints the ASL that local mode runs (the run, and with --batch the batch)', () => {
    const out = cli('definition');
    expect(out.status).toBe(0);
    const asl = JSON.parse(out.stdout) as { StartAt: string; States: Record<string, { Type: string }> };
    expect(asl.StartAt).toBe('SweepLeftovers');
    expect(asl.States.IssueBatches.Type).toBe('Map');
    const batch = cli('definition', '--batch');
    const batchAsl = JSON.parse(batch.stdout) as {
      StartAt: string;
      States: Record<string, { Type: string }>;
    };
    expect(batchAsl.StartAt).toBe('IssueEach');
    expect(batchAsl.States.IssueEach.Type).toBe('Map');
  });
});
