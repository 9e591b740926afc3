import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { TASK_STEPS } from '../../lambdas/core/state';
import { ensureFunctionBundles } from '../../lib/bundling/function-bundles';
import { exampleConfig, synth } from '../cdk/synth';

/**
 * Every bundle ships an external source map (`index.js.map`) that Node.js reads only when asked
 * (`--enable-source-maps`, the construct's `sourceMapsAtRuntime`): stack traces then name the
 * TypeScript sources; without it nothing is read and they name the minified `index.js`.
 */
describe('source maps of the function bundles', () => {
  const bundles = ensureFunctionBundles();

  /** Invoke a bundle's handler with no configuration: it throws ConfigError from the runtime. */
  function stackOf(file: string, flags: string[]): string {
    const script = `require(${JSON.stringify(file)}).handler({}).catch((e) => process.stderr.write('STACK ' + e.stack));`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CERTFLOW_')));
    const r = spawnSync(process.execPath, [...flags, '-e', script], {
      encoding: 'utf8',
      env,
      timeout: 30_000,
    });
    return r.stderr.slice(r.stderr.indexOf('STACK '));
  }

  it('each bundle has its map beside it, linked from the bundle', () => {
    for (const step of TASK_STEPS) {
      expect(existsSync(`${bundles[step].file}.map`)).toBe(true);
      expect(readFileSync(bundles[step].file, 'utf8').trimEnd()).toMatch(
        /\n\/\/# sourceMappingURL=index\.js\.map$/,
      );
    }
  });

  it('with --enable-source-maps an error names the TypeScript source and line; without, only index.js', () => {
    const file = bundles.Summarize.file;
    const mapped = stackOf(file, ['--enable-source-maps']);
    expect(mapped).toContain('ConfigError');
    expect(mapped).toMatch(/lambdas\/runtime\/base-context\.ts:\d+:\d+/);
    const plain = stackOf(file, []);
    expect(plain).toContain('ConfigError');
    expect(plain).not.toMatch(/\.ts:\d+/);
    expect(plain).toMatch(/functions\/Summarize\/index\.js:\d+:\d+/);
  });

  it('the construct turns them on (NODE_OPTIONS) only with sourceMapsAtRuntime, for every function', () => {
    const nodeOptions = (sourceMapsAtRuntime: boolean | undefined) =>
      Object.values(synth(exampleConfig(), { sourceMapsAtRuntime }).json.Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map(
          (r) =>
            (r.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables
              ?.NODE_OPTIONS,
        );
    expect(nodeOptions(undefined)).toEqual(TASK_STEPS.map(() => undefined));
    expect(nodeOptions(true)).toEqual(TASK_STEPS.map(() => '--enable-source-maps'));
  });
});
