/**
 * What `npm run build` adds to the compiled JavaScript in `dist/`, so that the compiled CLI and
 * construct need neither TypeScript tooling, esbuild nor the handlers' sources at run time:
 *
 * - `dist/functions/<Step>/index.js` (+ `index.js.map`, `build.json`): the ten function bundles,
 *   the same esbuild output the construct deploys and local mode loads;
 * - `dist/definitions/<hash>-c4.asl.json`: the definition local mode runs at the default
 *   `maxConcurrency`, rendered from the compiled state machine modules (other values are
 *   rendered on first use and cached beside it);
 * - `dist/build.json`: size, modification time and hash of every source file the build was made
 *   from, so a checkout whose sources moved on says so instead of running old code silently.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  changedInputs,
  ensureFunctionBundles,
  type FunctionBundle,
  type InputStamp,
  PREBUILT_FUNCTIONS,
  prebuiltRoot,
  stampInputs,
} from './function-bundles';

/** The source folders `tsconfig.build.json` compiles into `dist/`. */
export const COMPILED_SOURCE_DIRECTORIES = ['bin', 'lib', 'cli', 'local', 'lambdas', 'scripts'] as const;

/** `dist/build.json`. */
interface SourceRecord {
  sources: Record<string, InputStamp>;
}

function sourceFiles(projectRoot: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
        out.push(relative(projectRoot, path));
    }
  };
  for (const dir of COMPILED_SOURCE_DIRECTORIES) {
    if (existsSync(join(projectRoot, dir))) walk(join(projectRoot, dir));
  }
  return out.sort();
}

/**
 * Build the function bundles into `<dist>/functions` (incrementally: unchanged inputs rebuild
 * nothing), render the default local definition into `<dist>/definitions` (dropping renderings of
 * older sources), and stamp the sources. Runs from the compiled build (`dist/scripts/build.js`).
 */
export function buildArtifacts(args: {
  projectRoot: string;
  dist: string;
  /** Renders the definition for one maxConcurrency into the directory; returns the file's name. */
  renderDefinition: (cacheDirectory: string) => string;
}): { bundles: Record<string, FunctionBundle>; definition: string } {
  const { projectRoot, dist } = args;
  const bundles = ensureFunctionBundles({ projectRoot, outDir: join(dist, PREBUILT_FUNCTIONS) });
  const definitions = join(dist, 'definitions');
  const definition = args.renderDefinition(definitions);
  const hash = definition.split('-')[0];
  for (const file of existsSync(definitions) ? readdirSync(definitions) : []) {
    if (!file.startsWith(`${hash}-`)) rmSync(join(definitions, file), { force: true });
  }
  // `bin` points here; tsc writes files without the executable bit, and `npx certflow` runs it.
  chmodSync(join(dist, 'bin', 'certflow.js'), 0o755);
  const record: SourceRecord = { sources: stampInputs(projectRoot, sourceFiles(projectRoot)) ?? {} };
  writeFileSync(join(dist, 'build.json'), `${JSON.stringify(record, null, 1)}\n`);
  return { bundles, definition };
}

/**
 * When the compiled build runs in a checkout whose sources changed since `npm run build`: the
 * changed files (first few) in one line, else undefined. A `stat` per source file; a file is
 * read only when its size and modification time differ from the record.
 */
export function staleBuildWarning(): string | undefined {
  const dist = prebuiltRoot();
  if (!dist) return undefined;
  const projectRoot = resolve(dist, '..');
  let record: SourceRecord;
  try {
    record = JSON.parse(readFileSync(join(dist, 'build.json'), 'utf8')) as SourceRecord;
  } catch {
    return undefined;
  }
  // Installed without its sources: nothing to compare with.
  if (!existsSync(join(projectRoot, 'bin', 'certflow.ts'))) return undefined;
  const changed = changedInputs(projectRoot, record.sources);
  // A new source file (not yet compiled) counts too.
  for (const file of sourceFiles(projectRoot)) if (!(file in record.sources)) changed.push(file);
  if (changed.length === 0) return undefined;
  const shown = changed.slice(0, 3).join(', ') + (changed.length > 3 ? `, … (${changed.length} files)` : '');
  return `certflow: the compiled build in ${dist} is older than its sources (${shown}); run \`npm run build\``;
}
