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
import Module from 'node:module';
import { dirname, join } from 'node:path';
import * as vm from 'node:vm';
import type { TaskStep } from '../../lambdas/core/state';
import type { FunctionBundle } from '../bundling/function-bundles';

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

/**
 * The Node.js runtime interface client's own `formatError` (aws-lambda-ric 4.x, `index.mjs`:
 * the function its RAPID client uses for `postInvocationError`). The package is an ES module
 * that starts a runtime when imported, so the function's source is taken from the file and
 * evaluated on its own, in the host realm (the realm the bundles run in). When the package is
 * not installed (it is a development dependency, and needs Node.js 22), the same three rules
 * are applied here and the source says so.
 */
export function lambdaErrorFormatter(): ErrorFormatter {
  if (formatter) return formatter;
  try {
    const file = join(dirname(require.resolve('aws-lambda-ric/package.json')), 'index.mjs');
    const source = readFileSync(file, 'utf8');
    const start = source.indexOf('function formatError(error) {');
    const end = source.indexOf('\nfunction ', start + 1);
    if (start < 0 || end < 0) throw new Error(`formatError not found in ${file}`);
    const version = (
      JSON.parse(readFileSync(join(dirname(file), 'package.json'), 'utf8')) as { version: string }
    ).version;
    const format = vm.runInThisContext(`(${source.slice(start, end)})`, { filename: file }) as (
      e: unknown,
    ) => LambdaErrorResponse;
    formatter = { format, source: `aws-lambda-ric ${version} formatError` };
  } catch {
    formatter = {
      source: 'certflow fallback (aws-lambda-ric is not installed)',
      format: (error) =>
        error instanceof Error
          ? { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') }
          : { errorType: typeof error, errorMessage: String(error), trace: [] },
    };
  }
  return formatter;
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

/** Compile a bundle as a fresh CommonJS module (a cold start) and return its `handler`. */
function loadHandler(bundle: FunctionBundle): BundleHandler {
  const ModuleClass = Module as unknown as {
    new (
      id: string,
      parent?: unknown,
    ): {
      filename: string;
      paths: string[];
      exports: { handler?: unknown };
      _compile(code: string, filename: string): void;
    };
    _nodeModulePaths(dir: string): string[];
  };
  const mod = new ModuleClass(bundle.file);
  mod.filename = bundle.file;
  mod.paths = ModuleClass._nodeModulePaths(bundle.directory);
  mod._compile(readFileSync(bundle.file, 'utf8'), bundle.file);
  const handler = mod.exports.handler;
  if (typeof handler !== 'function') throw new Error(`${bundle.file} exports no handler`);
  return handler as BundleHandler;
}

/** One deployed function, loaded for local invocation. */
export class LocalFunction {
  private handler: BundleHandler | undefined;
  private invocations = 0;
  /** Invocations that ran past the timeout and were abandoned, until they end. */
  private readonly abandoned = new Set<Promise<void>>();

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
      };
      const result = await this.withinTimeout(this.handler(event, context), requestId);
      return JSON.parse(JSON.stringify(result === undefined ? null : result)) as JsonValue;
    } catch (error) {
      if (error instanceof LambdaInvocationError) throw error;
      throw new LambdaInvocationError(format(error));
    }
  }

  /** Wait until every invocation abandoned at its timeout has ended (before servers stop). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.abandoned]);
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
