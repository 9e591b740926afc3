/**
 * aws-local-stepfunctions, loaded without the parts local mode never uses. Its CommonJS build
 * requires, at load time, `@aws-sdk/client-lambda` and `@aws-sdk/credential-providers` (to invoke
 * real Lambda functions: local mode runs every Task state in-process, through
 * `taskResourceLocalHandlers`) and `asl-validator` (ajv compiling the ASL schemas: ~0.5 CPU-s per
 * run). Those three are given to it as lazy stand-ins that load the real module on first use, so
 * behaviour is unchanged and the cost is paid only if they are used. Definitions local mode
 * renders are validated once, when rendered ({@link validateDefinition}); an execution skips the
 * check for them ({@link isValidatedDefinition}).
 *
 * Which modules the package requires at load time is its internal affair, not an API: no option
 * of it defers them. So the version is pinned exactly in package.json ({@link PINNED_EMULATOR_VERSION}),
 * loading refuses another, and test/adapters/emulator-loading.test.ts proves, in a plain Node.js
 * process, that the stand-ins are placed, that a definition runs, and that the real modules load
 * when used. A stand-in that no longer matches a dependency is skipped (a slower load, never a
 * different behaviour).
 */
import '../lambdas/runtime/polyfills';
import { createHash } from 'node:crypto';
import Module from 'node:module';
import type { AslDefinition } from '../lib/state-machine/asl';

type Emulator = typeof import('aws-local-stepfunctions');

/** The aws-local-stepfunctions version whose load-time requires {@link loadEmulator} defers. */
export const PINNED_EMULATOR_VERSION = '3.0.0';

/** Modules aws-local-stepfunctions requires at load time that local mode does not need at once. */
const DEFERRED = ['@aws-sdk/client-lambda', '@aws-sdk/credential-providers', 'asl-validator'] as const;

/**
 * A stand-in for a CommonJS module that requires it on first use: any property read (named
 * exports), a call (a function export, or an ES-module interop `default`) or key listing.
 */
function lazyModule(load: () => unknown): unknown {
  let real: object | undefined;
  const get = (): object => {
    real ??= load() as object;
    return real;
  };
  // An arrow function as target: callable, and without non-configurable own keys, so `ownKeys`
  // may answer nothing until the module is loaded (esbuild's `__toESM` lists keys at load time).
  const target = (() => undefined) as unknown as object;
  return new Proxy(target, {
    get: (_t, key) => Reflect.get(get(), key),
    has: (_t, key) => key in get(),
    apply: (_t, self, args) => {
      const m = get() as { default?: unknown };
      const fn = (typeof m === 'function' ? m : m.default) as (...a: unknown[]) => unknown;
      return Reflect.apply(fn, self, args);
    },
    ownKeys: () => (real ? Reflect.ownKeys(real) : []),
    getOwnPropertyDescriptor: (_t, key) => {
      const descriptor = real ? Reflect.getOwnPropertyDescriptor(real, key) : undefined;
      return descriptor ? { ...descriptor, configurable: true } : undefined;
    },
  });
}

let emulator: Emulator | undefined;

/** `require` as aws-local-stepfunctions resolves (its own asl-validator, not another version). */
function emulatorRequire(): NodeJS.Require {
  return Module.createRequire(require.resolve('aws-local-stepfunctions'));
}

/** aws-local-stepfunctions, its Lambda client and validator loaded on first use only. */
export function loadEmulator(): Emulator {
  if (emulator) return emulator;
  const cache = require.cache;
  const fromEntry = emulatorRequire();
  const { version } = fromEntry('../package.json') as { version: string };
  if (version !== PINNED_EMULATOR_VERSION)
    throw new Error(
      `aws-local-stepfunctions ${version} is installed; local mode is proven with ${PINNED_EMULATOR_VERSION} only (npm ci installs it)`,
    );
  const placed: string[] = [];
  for (const name of DEFERRED) {
    let file: string;
    try {
      file = fromEntry.resolve(name);
    } catch {
      continue; // a version that no longer depends on it
    }
    if (cache[file]) continue;
    const stub = new Module(file);
    stub.filename = file;
    stub.loaded = true;
    stub.exports = lazyModule(() => {
      // The stand-in leaves the cache first, so this loads the real module.
      if (cache[file] === stub) delete cache[file];
      return fromEntry(name);
    });
    cache[file] = stub;
    placed.push(file);
  }
  try {
    emulator = require('aws-local-stepfunctions') as Emulator;
  } finally {
    // Anyone else requiring these gets the real modules.
    for (const file of placed) delete cache[file];
  }
  return emulator;
}

const validated = new Set<string>();

function digest(definition: AslDefinition): string {
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex');
}

/**
 * Validate a definition as aws-local-stepfunctions does before running it (its asl-validator,
 * with `checkPaths` and `checkArn`), and remember it as valid for this process.
 * @throws Error listing asl-validator's findings.
 */
export function validateDefinition(definition: AslDefinition): void {
  const validator = emulatorRequire()('asl-validator') as (
    definition: unknown,
    options: { checkPaths: boolean; checkArn: boolean },
  ) => { isValid: boolean; errorsText: (separator?: string) => string };
  // A copy: asl-validator's ajv fills in defaults (`QueryLanguage` on every state) as it checks.
  const { isValid, errorsText } = validator(structuredClone(definition), {
    checkPaths: true,
    checkArn: true,
  });
  if (!isValid)
    throw new Error(`State machine definition is invalid, see error(s) below:\n ${errorsText('\n')}`);
  markValidated(definition);
}

/** Record a definition as validated (one whose validation was recorded with it, e.g. in a cache). */
export function markValidated(definition: AslDefinition): void {
  validated.add(digest(definition));
}

/** Whether this exact definition (by content) was validated. */
export function isValidatedDefinition(definition: AslDefinition): boolean {
  return validated.size > 0 && validated.has(digest(definition));
}
