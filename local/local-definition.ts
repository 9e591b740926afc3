/**
 * The definitions local mode runs (the run and the batch), without synthesizing the CDK app on every run: rendered once
 * (lib/state-machine/render.ts synthesizes the same construct the stack deploys) and cached,
 * keyed by a hash of everything it is built from (this folder's modules, the state contract and
 * the aws-cdk-lib version) and its options. From sources the cache is
 * `<project>/.certflow-build/definitions/`; the compiled build (`npm run build`) renders the
 * default into `dist/definitions/` (its hash is of the compiled modules, which are what run).
 * The parity test (test/cdk/definition-parity.test.ts) proves the rendering equals the deployed
 * definition. A definition is validated (asl-validator, as the emulator does) before it is
 * cached, and marked so for the emulator, which then does not validate it again on every run.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultProjectRoot, prebuiltRoot } from '../lib/bundling/function-bundles';
import type { CertflowDefinitions } from '../lib/state-machine/render';
import { markValidated, validateDefinition } from './emulator';

export interface LocalDefinitionOptions {
  maxConcurrency?: number;
  batchConcurrency?: number;
  /**
   * Where cached definitions go.
   * @default `dist/definitions` when compiled, else `<project>/.certflow-build/definitions`
   */
  cacheDirectory?: string;
}

/** Subdirectory of a compiled build (`dist/`) that holds the rendered definitions. */
export const PREBUILT_DEFINITIONS = 'definitions';

/** Where {@link localDefinitions} caches by default. */
export function defaultDefinitionCache(): string {
  const prebuilt = prebuiltRoot();
  return prebuilt
    ? join(prebuilt, PREBUILT_DEFINITIONS)
    : join(defaultProjectRoot(), '.certflow-build', 'definitions');
}

/**
 * Bumped when what is cached changes for a reason outside the hashed files (2: cached as rendered,
 * not with the defaults the validator fills in; 3: the run and the batch definitions together).
 */
const CACHE_FORMAT = 3;

function sourceHash(): string {
  const hash = createHash('sha256').update(`format ${CACHE_FORMAT}\n`);
  const root = join(__dirname, '..');
  const definitionDir = join(root, 'lib', 'state-machine');
  const files = [
    ...readdirSync(definitionDir)
      .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .sort()
      .map((f) => join(definitionDir, f)),
    __filename,
  ];
  const state = ['state.ts', 'state.js'].map((f) => join(root, 'lambdas', 'core', f)).filter(existsSync);
  for (const file of [...files, ...state]) hash.update(file.slice(root.length)).update(readFileSync(file));
  const cdk = require.resolve('aws-cdk-lib/package.json');
  hash.update((JSON.parse(readFileSync(cdk, 'utf8')) as { version: string }).version);
  return hash.digest('hex').slice(0, 24);
}

/** The file {@link localDefinitions} caches these options' definitions in. */
export function localDefinitionFile(options: LocalDefinitionOptions = {}): string {
  const directory = options.cacheDirectory ?? defaultDefinitionCache();
  return join(
    directory,
    `${sourceHash()}-c${options.maxConcurrency ?? 4}-b${options.batchConcurrency ?? 1}.asl.json`,
  );
}

/** The local definitions (the run and the batch) for these options: from the cache, or rendered and cached. */
export function localDefinitions(options: LocalDefinitionOptions = {}): CertflowDefinitions {
  const maxConcurrency = options.maxConcurrency ?? 4;
  const batchConcurrency = options.batchConcurrency ?? 1;
  const file = localDefinitionFile(options);
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as CertflowDefinitions;
    if (!cached.run || !cached.batch) throw new Error('not the run and batch definitions');
    // Validated before they were cached (below).
    markValidated(cached.run);
    markValidated(cached.batch);
    return cached;
  } catch {
    // not cached yet
  }
  const { renderLocalDefinitions } =
    require('../lib/state-machine/render') as typeof import('../lib/state-machine/render');
  const definition = renderLocalDefinitions({ maxConcurrency, batchConcurrency });
  // As aws-local-stepfunctions validates before it runs a definition; once, here, not per run.
  validateDefinition(definition.run);
  validateDefinition(definition.batch);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(temp, `${JSON.stringify(definition)}\n`);
    renameSync(temp, file);
  } catch {
    // A read-only installation: render again next time.
    rmSync(temp, { force: true });
  }
  return definition;
}
