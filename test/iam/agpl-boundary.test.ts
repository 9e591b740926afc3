import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { HANDLER_ENTRIES } from '../../lambdas/runtime/env';

/**
 * `@cloud-copilot/iam-simulate` (and its `@cloud-copilot/*` dependencies) is AGPL-3.0. certflow
 * (Apache-2.0) uses it only to evaluate IAM in tests: a devDependency, imported only under
 * test/, never reachable from the Lambda bundles or the CDK app. Biome's noRestrictedImports
 * (biome.json overrides) rejects the import in lambdas/, lib/, bin/ and scripts/ at lint time;
 * this test checks the same boundary on the files, the lockfile and the bundles.
 */
const ROOT = join(__dirname, '..', '..');
const AGPL = /@cloud-copilot\//;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : /\.(ts|js|mjs|cjs)$/.test(name) ? [path] : [];
  });
}

describe('AGPL boundary: @cloud-copilot/* stays in the tests', () => {
  it('is a devDependency only, and every @cloud-copilot package in the lockfile is dev-only', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies).filter((d) => AGPL.test(d))).toEqual([]);
    expect(Object.keys(pkg.devDependencies)).toContain('@cloud-copilot/iam-simulate');
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const agplPackages = Object.entries(lock.packages).filter(([path]) => AGPL.test(path));
    expect(agplPackages.length).toBeGreaterThan(0);
    expect(agplPackages.filter(([, p]) => p.dev !== true).map(([path]) => path)).toEqual([]);
  });

  it('no source outside test/ mentions it, and inside test/ only the IAM harness imports it', () => {
    const offenders = ['lambdas', 'lib', 'cli', 'local', 'bin', 'scripts']
      .flatMap((d) => filesUnder(join(ROOT, d)))
      .filter((f) => AGPL.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
    const importers = filesUnder(join(ROOT, 'test'))
      .filter((f) => /from '@cloud-copilot\/|require\('@cloud-copilot\//.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((f) => !f.startsWith('test/iam/'))).toEqual([]);
  });

  it('no Lambda bundle (built with esbuild from each handler entry, as the stack builds them) contains it', async () => {
    const result = await build({
      entryPoints: Object.values(HANDLER_ENTRIES).map((e) => join(ROOT, e)),
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      write: false,
      metafile: true,
      outdir: join(ROOT, 'cdk.out', 'agpl-check'),
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.startsWith('lambdas/handlers/'))).toBe(true);
    expect(inputs.filter((i) => AGPL.test(i))).toEqual([]);
  });
});
