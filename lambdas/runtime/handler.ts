import { appendFileSync } from 'node:fs';
import type { Context as LambdaContext } from 'aws-lambda';
import { describeError } from '../core/errors';
import { JsonLogger } from '../core/logger';
import type { TaskStep } from '../core/state';
import type { StepContext } from '../core/steps/context';
import { baseContext, configFromEnvironment } from './base-context';
import { ENV } from './env';
import { type Capability, runtimeMode, type Wiring } from './wiring/types';

/** The wirings a handler supplies: only the capabilities its step uses. */
export type Wirings = { [K in Capability]?: Wiring<K> };

/** What one Task state's handler is made of. */
export interface HandlerSpec<I, O> {
  /** The Task state this function serves; every log line carries it. */
  step: TaskStep;
  /** Validates the state input (throws InvalidInputError naming the field and the fix). */
  parse: (raw: unknown) => I;
  /** The core step. */
  run: (input: I, ctx: StepContext) => Promise<O>;
  /** The adapters the step needs (lambdas/runtime/wiring/). */
  wiring: Wirings;
}

/** A Lambda handler as the Node.js runtime calls it. */
export type TaskHandler<O> = (event: unknown, context?: Partial<LambdaContext>) => Promise<O>;

function notWired(step: TaskStep, capability: Capability): never {
  throw new Error(`${step} does not use ${capability}; it is not wired into this function`);
}

/** Build a step's context: the base context plus the wired capabilities; the others throw. */
export function buildStepContext(step: TaskStep, wiring: Wirings): StepContext {
  const config = configFromEnvironment();
  const mode = runtimeMode();
  const logFile = process.env[ENV.logFile];
  const logger = new JsonLogger(
    logFile ? (line) => appendFileSync(logFile, `${line}\n`) : (line) => process.stdout.write(`${line}\n`),
    { step },
  );
  const env = { config, mode };
  return {
    ...baseContext(config),
    logger,
    accounts: wiring.accounts?.(env) ?? (() => notWired(step, 'accounts')),
    eab: wiring.eab?.(env) ?? (() => notWired(step, 'eab')),
    dnsProvider: wiring.dnsProvider?.(env) ?? (() => notWired(step, 'dnsProvider')),
    stores: wiring.stores?.(env) ?? (() => notWired(step, 'stores')),
    alerter: wiring.alerter?.(env) ?? (() => notWired(step, 'alerter')),
    pendingRecords: wiring.pendingRecords?.(env) ?? (() => notWired(step, 'pendingRecords')),
    runLiveness: wiring.runLiveness?.(env) ?? (() => notWired(step, 'runLiveness')),
    pendingKeys: wiring.pendingKeys?.(env) ?? (() => notWired(step, 'pendingKeys')),
    orderBudget: wiring.orderBudget?.(env) ?? (() => notWired(step, 'orderBudget')),
  };
}

/**
 * A thin Lambda handler: build the step's context once per cold start (module scope: each
 * function's bundle has its own), parse the input, call one core function, return JSON. Errors
 * are logged by name and message (never a stack with data) and rethrown unchanged, so their
 * `name` reaches Step Functions' Retry/Catch as the Lambda runtime reports it (`errorType`).
 */
export function makeHandler<I, O>(spec: HandlerSpec<I, O>): TaskHandler<O> {
  let context: StepContext | undefined;
  return async (raw: unknown): Promise<O> => {
    const started = Date.now();
    const certificate = (raw as { certificate?: unknown } | null)?.certificate;
    let ctx: StepContext | undefined;
    try {
      context ??= buildStepContext(spec.step, spec.wiring);
      ctx = context;
      const result = await spec.run(spec.parse(raw), ctx);
      ctx.logger.info('step succeeded', { certificate, ms: Date.now() - started });
      return result;
    } catch (error) {
      const fields = { certificate, ms: Date.now() - started, error: describeError(error) };
      if (ctx) ctx.logger.error('step failed', fields);
      else
        process.stdout.write(
          `${JSON.stringify({ level: 'error', step: spec.step, message: 'step failed', ...fields })}\n`,
        );
      throw error;
    }
  };
}
