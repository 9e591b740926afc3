import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The operator CLI as a process: what `--help` and `--version` load, exit codes for usage and
 * configuration errors, and the JSON error document.
 */

const dir = mkdtempSync(join(tmpdir(), 'certflow-cli-process-'));
const preload = join(dir, 'record-modules.cjs');
writeFileSync(
  preload,
  `process.on('exit', () => require('fs').writeFileSync(process.env.CERTFLOW_TEST_MODULES, JSON.stringify(Object.keys(require.cache))));\n`,
);

/** Run `certflow <args>` from the sources (tsx), recording every module it loaded (compiled: compiled-cli.test.ts). */
function certflow(...args: string[]) {
  const modulesFile = join(dir, `modules-${Math.random().toString(36).slice(2)}.json`);
  const result = spawnSync(process.execPath, ['-r', preload, '--import', 'tsx', 'bin/certflow.ts', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, CERTFLOW_TEST_MODULES: modulesFile },
  });
  const modules = JSON.parse(readFileSync(modulesFile, 'utf8')) as string[];
  return { ...result, modules };
}

const HEAVY =
  /node_modules\/(aws-cdk-lib|@aws-sdk\/|aws-local-stepfunctions|acme-client|zod)\/|lib\/local\/run-local|lib\/cli\/(plan|check|status|run)\./;

describe('certflow as a process', () => {
  it("--help and each command's --help load neither aws-cdk-lib, the AWS SDK, nor the local runner", () => {
    for (const args of [['--help'], ['run', '--help'], ['status', '--help'], ['local', '--help']]) {
      const r = certflow(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('Usage: certflow');
      expect(r.modules.filter((m) => HEAVY.test(m))).toEqual([]);
    }
    const top = certflow('--help');
    for (const command of ['local', 'validate', 'definition', 'plan', 'check', 'status', 'run']) {
      expect(top.stdout).toMatch(new RegExp(`\\n  ${command} `));
    }
  });

  it('--version prints the version in package.json, loading nothing heavy', () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = certflow('--version');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
    expect(r.modules.filter((m) => HEAVY.test(m))).toEqual([]);
  });

  it('a usage error exits 2', () => {
    const r = certflow('status', '--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: unknown option '--bogus'");
  });

  it('a config file that cannot be read exits 2, naming the file; with --json the error is a JSON document too', () => {
    const missing = join(dir, 'nope.json');
    const text = certflow('status', '-c', missing);
    expect(text.status).toBe(2);
    expect(text.stderr).toContain(`${missing} is invalid (1 problem):`);
    expect(text.stderr).toContain(`cannot read ${missing}`);

    const json = certflow('check', '-c', missing, '--json');
    expect(json.status).toBe(2);
    const doc = JSON.parse(json.stdout) as {
      ok: boolean;
      error: { name: string; problems: { message: string }[] };
    };
    expect(doc.ok).toBe(false);
    expect(doc.error.name).toBe('ConfigError');
    expect(doc.error.problems[0]?.message).toContain(`cannot read ${missing}`);
  });

  it('validate --json', () => {
    const r = certflow('validate', '-c', 'certflow.config.example.json', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: true,
      config: 'certflow.config.example.json',
      certificates: 2,
    });
  });
});
