/**
 * Local mode's Lambda runtime: loads each function's deployed bundle (the esbuild output CDK
 * uploads, lib/bundling/function-bundles.ts) and invokes its handler the way the Node.js Lambda
 * runtime does: `handler(event, context)`, the result serialized as JSON, and a thrown error
 * turned into the runtime's error response `{errorType, errorMessage, trace}` by the formatter
 * of AWS's runtime interface client (npm `aws-lambda-ric`), which Step Functions then sees as
 * `Error` = errorType and `Cause` = the response JSON.
 *
 * Every load is a cold start: each bundle is compiled afresh as its own module, so module-level
 * state (the step's context, SDK clients, caches) starts empty for each run, as in a new
 * execution environment. The code runs in the host realm (not a test runner's sandbox), with the
 * host process's environment, like a Lambda function.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vm from 'node:vm';
import type { TaskStep } from '../lambdas/core/state';
import type { FunctionBundle } from '../lib/bundling/function-bundles';

/** The Lambda runtime's error response for an invocation that threw. */
export interface LambdaErrorResponse {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/** Turns a thrown value into the runtime's error response. */
export interface ErrorFormatter {
  format(error: unknown): LambdaErrorResponse;
  /** Where the rules come from, for the run record. */
  source: string;
}

let formatter: ErrorFormatter | undefined;

/** The aws-lambda-ric version whose `formatError` {@link lambdaErrorFormatter} reads (package.json pins it). */
export const PINNED_RIC_VERSION = '4.0.2';

/**
 * The Node.js runtime interface client's own `formatError` (aws-lambda-ric, `index.mjs`: the
 * function its RAPID client uses for `postInvocationError`). No public API serves: the package
 * exports nothing (its entry point starts a runtime when imported), so the function's source is
 * taken from the file and evaluated on its own, in the host realm (the realm the bundles run in).
 * That reads the package's internals, so its version is pinned exactly in package.json
 * ({@link PINNED_RIC_VERSION}); test/bundles/handler-errors.test.ts proves this version's
 * function is found and shapes errors as the runtime does. Another installed version, or a file
 * without the function, is an error, never a silent fallback. Only when the package is not
 * installed at all (it is a development dependency) are the same three rules applied here, and
 * the source says so.
 */
export function lambdaErrorFormatter(): ErrorFormatter {
  if (formatter) return formatter;
  let packageFile: string;
  try {
    packageFile = require.resolve('aws-lambda-ric/package.json');
  } catch {
    formatter = {
      source: 'certflow fallback (aws-lambda-ric is not installed)',
      format: (error) =>
        error instanceof Error
          ? { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') }
          : { errorType: typeof error, errorMessage: String(error), trace: [] },
    };
    return formatter;
  }
  const { version } = JSON.parse(readFileSync(packageFile, 'utf8')) as { version: string };
  if (version !== PINNED_RIC_VERSION)
    throw new Error(
      `aws-lambda-ric ${version} is installed; local mode reads formatError out of ${PINNED_RIC_VERSION} only (npm ci installs it)`,
    );
  const file = join(dirname(packageFile), 'index.mjs');
  const source = readFileSync(file, 'utf8');
  const start = source.indexOf('function formatError(error) {');
  const end = source.indexOf('\nfunction ', start + 1);
  if (start < 0 || end < 0) throw new Error(`formatError not found in ${file}`);
  const format = vm.runInThisContext(`(${source.slice(start, end)})`, { filename: file }) as (
    e: unknown,
  ) => LambdaErrorResponse;
  formatter = { format, source: `aws-lambda-ric ${version} formatError` };
  return formatter;
}

/** The host realm's `Module.createRequire`. */
function hostCreateRequire(): (file: string) => NodeJS.Require {
  const host = hostProcess() as NodeJS.Process & {
    getBuiltinModule(id: 'node:module'): typeof import('node:module');
  };
  return host.getBuiltinModule('node:module').createRequire;
}

/** The host realm's `process` (a test runner may give test code its own copy). */
export function hostProcess(): NodeJS.Process {
  return vm.runInThisContext('process') as NodeJS.Process;
}

/** An invocation that ended in an error: `name` is the errorType, `message` the response JSON. */
export class LambdaInvocationError extends Error {
  constructor(readonly response: LambdaErrorResponse) {
    super(JSON.stringify(response));
    this.name = response.errorType;
  }
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type BundleHandler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

/**
 * Load a bundle as a fresh CommonJS module (a cold start) and return its `handler`. The file is
 * wrapped in CommonJS's module function, as Node.js's loader wraps it, and compiled with
 * `vm.runInThisContext` in the host realm (lines and columns unchanged, for stack traces and
 * source maps); it gets a `require` resolving from its own directory (`Module.createRequire` of
 * the host realm, `process.getBuiltinModule`: a test runner may give test code its own `module`).
 * Both are public APIs, and every load runs the bundle's top level again, as a new execution
 * environment does.
 */
function loadHandler(bundle: FunctionBundle): BundleHandler {
  const module: { exports: { handler?: unknown } } = { exports: {} };
  const source = `(function (exports, require, module, __filename, __dirname) {\n${readFileSync(bundle.file, 'utf8')}\n})`;
  const wrapper = vm.runInThisContext(source, { filename: bundle.file, lineOffset: -1 }) as (
    ...args: unknown[]
  ) => void;
  wrapper(module.exports, hostCreateRequire()(bundle.file), module, bundle.file, bundle.directory);
  const handler = module.exports.handler;
  if (typeof handler !== 'function') throw new Error(`${bundle.file} exports no handler`);
  return handler as BundleHandler;
}

/** One deployed function, loaded for local invocation. */
export class LocalFunction {
  private handler: BundleHandler | undefined;
  private invocations = 0;
  /** Invocations that ran past the timeout and were abandoned, until they end. */
  private readonly abandoned = new Set<Promise<void>>();
  /** Invocations running now, until they end. */
  private readonly running = new Set<Promise<void>>();
  /** Handed to each invocation (`context.abortSignal`); aborted by {@link abortRunning}. */
  private stop = new AbortController();

  constructor(
    readonly bundle: FunctionBundle,
    private readonly timeoutSeconds: number,
  ) {}

  get step(): TaskStep {
    return this.bundle.step;
  }

  /**
   * Invoke as Lambda does: the init (module load) on first use, then `handler(event, context)`.
   * The result goes through JSON as Lambda's response does; a thrown error (in init or in the
   * handler) becomes a {@link LambdaInvocationError} carrying the runtime's error response.
   * An invocation still running at the function's timeout fails as Lambda fails it, with
   * `Sandbox.Timedout` ("Task timed out after N seconds"; Lambda developer guide, "Troubleshoot
   * invocation issues in Lambda", timeouts), and the next invocation is a cold start, as Lambda
   * discards the sandbox.
   *
   * Lambda stops the invocation at its timeout and only then reports the error, so a Task that
   * retries it never runs beside it. In this process the timed-out call cannot be stopped or
   * frozen: it runs on, its result ignored. So that no retry starts while it still runs (and
   * writes), its `Sandbox.Timedout` is reported when the call has ended, not at the timeout:
   * later than on AWS, never overlapping. A call that never ends is cut off by its Task's own
   * timeout (`States.Timeout`, which no Task retries), and {@link drain} waits for it.
   */
  async invoke(event: JsonValue): Promise<JsonValue> {
    const started = Date.now();
    const format = lambdaErrorFormatter().format;
    try {
      this.handler ??= loadHandler(this.bundle);
      this.invocations += 1;
      const requestId = `local-${this.step}-${this.invocations}`;
      const context = {
        functionName: `certflow-${this.step}`,
        awsRequestId: requestId,
        getRemainingTimeInMillis: () => Math.max(0, this.timeoutSeconds * 1000 - (Date.now() - started)),
        // Not in Lambda's context: the run's stop (SIGINT/SIGTERM) reaches in-flight requests.
        abortSignal: this.stop.signal,
      };
      const work = this.handler(event, context);
      const ended = work.then(
        () => undefined,
        () => undefined,
      );
      this.running.add(ended);
      void ended.then(() => this.running.delete(ended));
      const result = await this.withinTimeout(work, requestId);
      return JSON.parse(JSON.stringify(result === undefined ? null : result)) as JsonValue;
    } catch (error) {
      if (error instanceof LambdaInvocationError) throw error;
      throw new LambdaInvocationError(format(error));
    }
  }

  /** Wait until every invocation abandoned at its timeout, or stopped, has ended (before servers stop). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.abandoned]);
  }

  /**
   * Stop the invocations running now (the run was interrupted): their requests are aborted
   * (`context.abortSignal`), and {@link drain} waits for them to end. Later invocations (the
   * interrupted run's own sweep) get a fresh signal.
   */
  abortRunning(): void {
    for (const r of this.running) this.abandoned.add(r);
    for (const r of this.running) void r.then(() => this.abandoned.delete(r));
    this.stop.abort();
    this.stop = new AbortController();
  }

  private withinTimeout<T>(work: Promise<T>, requestId: string): Promise<T> {
    // The abandoned call's late failure must not surface as an unhandled rejection.
    const ended = work.then(
      () => undefined,
      () => undefined,
    );
    return new Promise<T>((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        this.handler = undefined;
        this.abandoned.add(ended);
        // Reported once the call is over (see invoke): Lambda reports it when it has stopped it.
        void ended.then(() => {
          this.abandoned.delete(ended);
          reject(
            new LambdaInvocationError({
              errorType: 'Sandbox.Timedout',
              errorMessage: `RequestId: ${requestId} Error: Task timed out after ${this.timeoutSeconds.toFixed(2)} seconds`,
              trace: [],
            }),
          );
        });
      }, this.timeoutSeconds * 1000);
      work.then(
        (value) => {
          if (late) return;
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          if (late) return;
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}
