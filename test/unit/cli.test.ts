import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

  it('definition: prints the ASL that local mode runs', () => {
    const out = cli('definition');
    expect(out.status).toBe(0);
    const asl = JSON.parse(out.stdout) as { StartAt: string; States: Record<string, { Type: string }> };
    expect(asl.StartAt).toBe('SelectDue');
    expect(asl.States.IssueEach.Type).toBe('Map');
  });
});
