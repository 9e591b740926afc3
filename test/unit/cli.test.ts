import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
      '  - certificates: is required (array); see the configuration table in README.md',
    );
  });

  it('validate: checks the local store directory without creating it', () => {
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
    const bad = cli('validate', '-c', file);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      `${file} is invalid (1 problem):\n  - storage.localDirectory: ${join(blocker, 'certs')} cannot be created: ${blocker} is a regular file (ENOTDIR); point storage.localDirectory elsewhere or move ${blocker} away\n`,
    );

    writeFileSync(file, config(join(dir, 'certs')));
    const ok = cli('validate', '-c', file);
    expect(ok.stdout).toBe(`${file}: valid (1 certificate(s))\n`);
    expect(existsSync(join(dir, 'certs'))).toBe(false);
  });

  it('definition: prints the ASL that local mode runs', () => {
    const out = cli('definition');
    expect(out.status).toBe(0);
    const asl = JSON.parse(out.stdout) as { StartAt: string; States: Record<string, { Type: string }> };
    expect(asl.StartAt).toBe('SelectDue');
    expect(asl.States.IssueEach.Type).toBe('Map');
  });
});
