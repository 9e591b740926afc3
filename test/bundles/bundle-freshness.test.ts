import {
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureFunctionBundles } from '../../lib/bundling/function-bundles';

/**
 * The bundles are rebuilt only when what they are built from changes. Local runs and synthesis
 * check this every time, so the check looks at sizes and modification times first and hashes
 * only files whose stamp moved: touching a file rebuilds nothing, editing one rebuilds.
 * Runs on a copy of the handlers' sources (node_modules linked), so editing them is safe.
 */
describe('function bundle freshness', () => {
  const repo = resolve(__dirname, '..', '..');
  const root = mkdtempSync(join(tmpdir(), 'certflow-freshness-'));
  cpSync(join(repo, 'lambdas'), join(root, 'lambdas'), { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
  const outDir = join(root, 'out');
  const record = join(outDir, 'build.json');
  const built = () => statSync(record).mtimeMs;
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('reuses a build until an input changes, by content, not by timestamp', () => {
    const first = ensureFunctionBundles({ projectRoot: root, outDir });
    const stamp = built();
    expect(first.Summarize.bytes).toBeGreaterThan(0);

    ensureFunctionBundles({ projectRoot: root, outDir });
    expect(built()).toBe(stamp);
    const bundleTime = statSync(join(outDir, 'Summarize', 'index.js')).mtimeMs;

    // Same content, new modification time: still current.
    const source = join(root, 'lambdas', 'core', 'steps', 'summarize.ts');
    const later = new Date(Date.now() + 5000);
    utimesSync(source, later, later);
    ensureFunctionBundles({ projectRoot: root, outDir });
    expect(statSync(join(outDir, 'Summarize', 'index.js')).mtimeMs).toBe(bundleTime);
    // …and its new time is recorded, so the next check need not read it.
    const recorded = (
      JSON.parse(readFileSync(record, 'utf8')) as { inputs: Record<string, { mtimeMs: number }> }
    ).inputs['lambdas/core/steps/summarize.ts'];
    expect(recorded.mtimeMs).toBe(statSync(source).mtimeMs);

    // New content: rebuilt.
    writeFileSync(
      source,
      `${readFileSync(source, 'utf8')}\nexport const FRESHNESS_MARK = 'rebuilt-${Date.now()}';\n`,
    );
    const rebuilt = ensureFunctionBundles({ projectRoot: root, outDir });
    expect(statSync(join(outDir, 'Summarize', 'index.js')).mtimeMs).not.toBe(bundleTime);
    expect(rebuilt.Summarize.inputs['lambdas/core/steps/summarize.ts']).toBeGreaterThan(0);

    // A package the bundles contain counts as an input too: its stamp is recorded.
    const inputs = Object.keys(
      (JSON.parse(readFileSync(record, 'utf8')) as { inputs: Record<string, unknown> }).inputs,
    );
    expect(inputs).toContain('lambdas/core/steps/summarize.ts');
    expect(inputs.some((p) => p.includes('node_modules/zod/'))).toBe(true);
  });

  it('rebuilds when a recorded input is gone or a bundle is missing', () => {
    ensureFunctionBundles({ projectRoot: root, outDir });
    const stamp = built();
    rmSync(join(outDir, 'Cleanup', 'index.js'));
    const again = ensureFunctionBundles({ projectRoot: root, outDir });
    expect(built()).not.toBe(stamp);
    expect(statSync(again.Cleanup.file).size).toBe(again.Cleanup.bytes);
  });
});
