/**
 * The Lambda functions' code, built once with esbuild and used everywhere: the CDK construct
 * deploys these directories as they are (`lambda.Code.fromAsset`), and local mode and the
 * end-to-end tests load the very same files. A build is reused until one of its inputs (any
 * source file or package the bundles contain), the options or esbuild's version changes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { BuildOptions, Metafile } from 'esbuild';
import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import { HANDLER_ENTRIES } from '../../lambdas/runtime/env';

/** The file name of every bundle; the Lambda handler is `index.handler`. */
export const BUNDLE_FILE = 'index.js';
/** The Lambda handler setting for every function. */
export const BUNDLE_HANDLER = 'index.handler';

/**
 * esbuild options of every function bundle, as deployed:
 * - minified, for Node.js 24 (the Lambda runtime, `nodejs24.x`), CommonJS;
 * - `keepNames`: class names survive minification, because an error's `name` is its class name
 *   and the Lambda runtime reports it as `errorType`, which Step Functions' Retry/Catch match
 *   (the AWS SDK's service errors set `name` themselves, e.g. `ResourceNotFoundException`);
 * - the AWS SDK v3 clients are bundled, not taken from the runtime: the SDK the tests run is the
 *   SDK that ships. AWS recommends this for control of the version ("To lock an SDK version and
 *   make it immutable, it's recommended that you [...] include this in your deployment package",
 *   AWS Lambda Operator Guide, "Managing AWS SDKs in Lambda functions"; the Lambda developer
 *   guide, "Building Lambda functions with Node.js", "Runtime-included SDK versions": the
 *   runtime's SDK is updated by Lambda). What this costs is in the README ("What the functions
 *   carry");
 * - the SDK's default credential chain is the Lambda part of it alone, the execution role's
 *   environment variables (lambdas/runtime/lambda-credentials.ts);
 * - an external source map (`index.js.map`) beside each bundle: no cost unless the function runs
 *   with `--enable-source-maps` (the construct's `sourceMapsAtRuntime`).
 */
/**
 * Modules the bundled SDK imports lazily (`import()`) on paths certflow's clients never take, left
 * out of the bundles: `@smithy/core/event-streams`, loaded by the HTTP protocol only for an
 * operation with an event-stream member (none of the ACM, CloudWatch, DynamoDB, Route 53,
 * Secrets Manager, SNS or Step Functions operations certflow calls has one), and `bowser`, the
 * browser user-agent parser of `@aws-sdk/core`'s browser code. ~16 KB per function.
 * test/cdk/app.test.ts allows these requires and no others.
 */
export const NEVER_LOADED_SDK_MODULES = ['@smithy/core/event-streams', 'bowser'] as const;

export function bundleBuildOptions(projectRoot: string): BuildOptions {
  return {
    absWorkingDir: projectRoot,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    // The SDK's default credential chain, as Lambda needs it: the execution role's environment
    // variables only (lambdas/runtime/lambda-credentials.ts).
    alias: { '@aws-sdk/credential-provider-node': './lambdas/runtime/lambda-credentials.ts' },
    mainFields: ['module', 'main'],
    external: [...NEVER_LOADED_SDK_MODULES],
    // The SDK's lazy `import()`s of Node built-ins (node:http, node:async_hooks) become `require`s:
    // a CommonJS function then needs no ES-module loader to run, in Lambda or in local mode
    // (which compiles each bundle as a fresh CommonJS module, local/lambda-runtime.ts).
    supported: { 'dynamic-import': false },
    metafile: true,
    logLevel: 'silent',
  };
}

/** One function's bundle. */
export interface FunctionBundle {
  step: TaskStep;
  /** The directory CDK uploads as the function's code. */
  directory: string;
  /** `<directory>/index.js`. */
  file: string;
  /** Size of `index.js` in bytes. */
  bytes: number;
  /** Bytes each input contributes to the bundle, by path relative to the project root. */
  inputs: Record<string, number>;
}

/** A file the bundles were built from: enough to tell cheaply whether it changed. */
export interface InputStamp {
  size: number;
  mtimeMs: number;
  sha256: string;
}

/** What a build records beside the bundles (`build.json`), to know when it is stale. */
interface BuildRecord {
  key: string;
  inputs: Record<string, InputStamp>;
  bundles: Record<TaskStep, { bytes: number; inputs: Record<string, number> }>;
}

export interface EnsureBundlesOptions {
  /** The repository root (holds lambdas/ and node_modules). @default this repository */
  projectRoot?: string;
  /** Where the bundles go. @default `<projectRoot>/.certflow-build/functions` */
  outDir?: string;
  /** Rebuild even when the recorded build is current. */
  force?: boolean;
}

/**
 * This repository's root: the nearest ancestor of this file that holds the handlers' sources
 * (from `dist/lib/bundling/` too: `dist/lambdas/handlers` holds compiled files, not the entries).
 */
export function defaultProjectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, HANDLER_ENTRIES.SelectDue))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the certflow project root above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** Subdirectory of a compiled build (`dist/`) that holds the prebuilt function bundles. */
export const PREBUILT_FUNCTIONS = 'functions';

/**
 * The compiled build this module belongs to (`dist/`, made by `npm run build`), when it carries
 * prebuilt bundles (`dist/functions/`); undefined when running from sources (ts-jest, tsx).
 * The compiled CLI and construct use those bundles as they are: neither esbuild nor the
 * handlers' sources are needed at run time.
 */
export function prebuiltRoot(): string | undefined {
  if (!__filename.endsWith('.js')) return undefined;
  const root = resolve(__dirname, '..', '..');
  return existsSync(join(root, PREBUILT_FUNCTIONS, 'build.json')) ? root : undefined;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function buildKey(projectRoot: string): string {
  // esbuild's version from its package.json: loading esbuild's API just to read it costs more.
  const esbuildVersion = (
    JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8')) as { version: string }
  ).version;
  const options = bundleBuildOptions('.');
  return sha256(JSON.stringify({ esbuildVersion, options, entries: HANDLER_ENTRIES, root: projectRoot }));
}

/** Size, modification time and hash of each file; undefined when one cannot be read. */
export function stampInputs(
  projectRoot: string,
  paths: readonly string[],
): Record<string, InputStamp> | undefined {
  const out: Record<string, InputStamp> = {};
  for (const path of paths) {
    try {
      const file = resolve(projectRoot, path);
      const { size, mtimeMs } = statSync(file);
      out[path] = { size, mtimeMs, sha256: sha256(readFileSync(file)) };
    } catch {
      return undefined;
    }
  }
  return out;
}

/**
 * The recorded inputs that changed since they were stamped. A file whose size and modification
 * time are as recorded counts as unchanged without reading it (a `stat` each: this runs on every
 * local run and synthesis); only the others are hashed, so touching a file rebuilds nothing.
 */
export function changedInputs(
  projectRoot: string,
  stamps: Record<string, InputStamp>,
  /** Called for a file whose content is as recorded under a new modification time. */
  onTouched?: (path: string, mtimeMs: number) => void,
): string[] {
  const changed: string[] = [];
  for (const [path, stamp] of Object.entries(stamps)) {
    const file = resolve(projectRoot, path);
    try {
      const { size, mtimeMs } = statSync(file);
      if (size === stamp.size && mtimeMs === stamp.mtimeMs) continue;
      if (size === stamp.size && sha256(readFileSync(file)) === stamp.sha256) {
        onTouched?.(path, mtimeMs);
        continue;
      }
    } catch {
      // gone or unreadable: changed
    }
    changed.push(path);
  }
  return changed;
}

function readRecord(outDir: string): BuildRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(join(outDir, 'build.json'), 'utf8')) as BuildRecord;
    // A record from before inputs were stamped (hash strings): rebuild.
    return Object.values(record.inputs).every((i) => typeof i === 'object') ? record : undefined;
  } catch {
    return undefined;
  }
}

function current(projectRoot: string, outDir: string, key: string): BuildRecord | undefined {
  const record = readRecord(outDir);
  if (!record || record.key !== key) return undefined;
  if (TASK_STEPS.some((step) => !existsSync(join(outDir, step, BUNDLE_FILE)))) return undefined;
  let touched = false;
  const changed = changedInputs(projectRoot, record.inputs, (path, mtimeMs) => {
    record.inputs[path] = { ...record.inputs[path], mtimeMs };
    touched = true;
  });
  if (changed.length > 0) return undefined;
  // Files touched but unchanged (a checkout): record their new times, so the next check only stats.
  if (touched) {
    try {
      writeFileSync(join(outDir, 'build.json'), `${JSON.stringify(record, null, 1)}\n`);
    } catch {
      // read-only: hash them again next time
    }
  }
  return record;
}

/** Which bundle an esbuild output belongs to (`<Step>/index.js`). */
function stepOfOutput(outDir: string, projectRoot: string, output: string): TaskStep | undefined {
  const rel = relative(outDir, resolve(projectRoot, output)).split(/[\\/]/);
  const step = rel[0] as TaskStep;
  return rel[1] === BUNDLE_FILE && (TASK_STEPS as readonly string[]).includes(step) ? step : undefined;
}

function build(projectRoot: string, outDir: string, key: string): BuildRecord {
  const esbuild = require('esbuild') as typeof import('esbuild');
  const staging = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  rmSync(staging, { recursive: true, force: true });
  const entryPoints = Object.fromEntries(
    TASK_STEPS.map((step) => [`${step}/index`, resolve(projectRoot, HANDLER_ENTRIES[step])]),
  );
  const result = esbuild.buildSync({ ...bundleBuildOptions(projectRoot), entryPoints, outdir: staging });
  const metafile = result.metafile as Metafile;
  const bundles = {} as BuildRecord['bundles'];
  for (const [output, info] of Object.entries(metafile.outputs)) {
    const step = stepOfOutput(staging, projectRoot, output);
    if (!step) continue;
    bundles[step] = {
      bytes: info.bytes,
      inputs: Object.fromEntries(Object.entries(info.inputs).map(([path, i]) => [path, i.bytesInOutput])),
    };
  }
  const inputs = stampInputs(projectRoot, Object.keys(metafile.inputs)) ?? {};
  const record: BuildRecord = { key, inputs, bundles };
  writeFileSync(join(staging, 'build.json'), `${JSON.stringify(record, null, 1)}\n`);
  mkdirSync(dirname(outDir), { recursive: true });
  rmSync(outDir, { recursive: true, force: true });
  renameSync(staging, outDir);
  return record;
}

/**
 * The ten function bundles (synchronous: CDK synthesis calls it). Running compiled with a
 * prebuilt set ({@link prebuiltRoot}), and asked for no other root or directory, those are used
 * as they are. Otherwise they are built into `outDir` if missing or stale: a changed input (any
 * source file or package the bundles contain), option or esbuild version.
 * Returns each step's bundle directory, file, size and inputs (from esbuild's metafile).
 */
export function ensureFunctionBundles(options: EnsureBundlesOptions = {}): Record<TaskStep, FunctionBundle> {
  const prebuilt = prebuiltRoot();
  const usePrebuilt =
    prebuilt !== undefined &&
    !options.force &&
    options.outDir === undefined &&
    (options.projectRoot === undefined || resolve(options.projectRoot) === prebuilt);
  let outDir: string;
  let record: BuildRecord | undefined;
  if (usePrebuilt) {
    outDir = join(prebuilt, PREBUILT_FUNCTIONS);
    record = readRecord(outDir);
  } else {
    const projectRoot = resolve(options.projectRoot ?? defaultProjectRoot());
    outDir = resolve(options.outDir ?? join(projectRoot, '.certflow-build', 'functions'));
    const key = buildKey(projectRoot);
    record = (!options.force && current(projectRoot, outDir, key)) || build(projectRoot, outDir, key);
  }
  return Object.fromEntries(
    TASK_STEPS.map((step) => {
      const directory = join(outDir, step);
      const file = join(directory, BUNDLE_FILE);
      return [
        step,
        {
          step,
          directory,
          file,
          bytes: record?.bundles[step]?.bytes ?? statSync(file).size,
          inputs: record?.bundles[step]?.inputs ?? {},
        },
      ];
    }),
  ) as Record<TaskStep, FunctionBundle>;
}
