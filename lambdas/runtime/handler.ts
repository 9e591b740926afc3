import type { Context as LambdaContext } from 'aws-lambda';
import { describeError } from '../core/errors';
import { type InvocationLimits, withInvocationLimits } from '../core/invocation-limits';
import { DIMENSION, METRIC } from '../core/metrics';
import type { TaskStep } from '../core/state';
import type { StepContext } from '../core/steps/context';
import { baseContext, configFromEnvironment } from './base-context';
import { EmfMetrics, logSink, metricsSink, PowertoolsLogAdapter } from './observability';
import { type Capability, runtimeMode, type Wiring } from './wiring/types';

/** The wirings a handler supplies: only the capabilities its step uses. */
export type Wirings = { [K in Capability]?: Wiring<K> };

/** What one Task state's handler is made of. */
export interface HandlerSpec<I, O> {
  /** The Task state this function serves; every log line carries it. */
  step: TaskStep;
  /**
   * The state an input belongs to, when this function serves several (Cleanup also runs the
   * run-start sweep, SweepLeftovers): the `step` of its log lines and of its StepDuration metric.
   * @default the function's `step`
   */
  stepOf?: (raw: unknown) => string;
  /** Validates the state input (throws InvalidInputError naming the field and the fix). */
  parse: (raw: unknown) => I;
  /** The core step. */
  run: (input: I, ctx: StepContext) => Promise<O>;
  /** The adapters the step needs (lambdas/runtime/wiring/). */
  wiring: Wirings;
}

/**
 * The invocation's limits: Lambda's deadline (`getRemainingTimeInMillis`), and in local mode
 * the runner's abort signal (`abortSignal`, which Lambda's context does not have): a stopped
 * run stops its in-flight requests.
 */
function invocationLimitsOf(lambdaContext: Partial<LambdaContext> | undefined): InvocationLimits {
  const remaining = lambdaContext?.getRemainingTimeInMillis?.();
  const signal = (lambdaContext as { abortSignal?: unknown } | undefined)?.abortSignal;
  return {
    ...(typeof remaining === 'number' && Number.isFinite(remaining)
      ? { deadline: Date.now() + remaining }
      : {}),
    ...(signal instanceof AbortSignal ? { signal } : {}),
  };
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
  const env = { config, mode };
  return {
    ...baseContext(config),
    logger: PowertoolsLogAdapter.create(logSink(), { step }),
    metrics: new EmfMetrics(config.monitoring.namespace, metricsSink()),
    accounts: wiring.accounts?.(env) ?? (() => notWired(step, 'accounts')),
    eab: wiring.eab?.(env) ?? (() => notWired(step, 'eab')),
    dnsProvider: wiring.dnsProvider?.(env) ?? (() => notWired(step, 'dnsProvider')),
    stores: wiring.stores?.(env) ?? (() => notWired(step, 'stores')),
    alerter: wiring.alerter?.(env) ?? (() => notWired(step, 'alerter')),
    pendingRecords: wiring.pendingRecords?.(env) ?? (() => notWired(step, 'pendingRecords')),
    runLiveness: wiring.runLiveness?.(env) ?? (() => notWired(step, 'runLiveness')),
    pendingKeys: wiring.pendingKeys?.(env) ?? (() => notWired(step, 'pendingKeys')),
    orderBudget: wiring.orderBudget?.(env) ?? (() => notWired(step, 'orderBudget')),
    expiryAlarms: wiring.expiryAlarms?.(env) ?? (() => notWired(step, 'expiryAlarms')),
    ...(wiring.rejectedCertificates ? { rejectedCertificates: wiring.rejectedCertificates(env) } : {}),
  };
}

/** The execution an input belongs to: `executionId` (certificate items, the sweep) or the selection's. */
function executionOf(raw: unknown): string | undefined {
  const input = raw as { executionId?: unknown; selection?: { executionId?: unknown } } | null;
  const id = input?.executionId ?? input?.selection?.executionId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/**
 * The fields on every log line of one invocation: the step (state), the execution (its name, the
 * last part of `$$.Execution.Id`, and the ARN), the certificate, and Lambda's request id.
 */
export function invocationFields(
  step: string,
  raw: unknown,
  lambdaContext?: Partial<LambdaContext>,
): Record<string, string> {
  const fields: Record<string, string> = { step };
  const executionArn = executionOf(raw);
  if (executionArn) {
    fields.execution = executionArn.slice(executionArn.lastIndexOf(':') + 1);
    fields.executionArn = executionArn;
  }
  const certificate = (raw as { certificate?: unknown } | null)?.certificate;
  if (typeof certificate === 'string') fields.certificate = certificate;
  if (typeof lambdaContext?.awsRequestId === 'string') fields.requestId = lambdaContext.awsRequestId;
  return fields;
}

/**
 * A thin Lambda handler: build the step's context once per cold start (module scope: each
 * function's bundle has its own), parse the input, call one core function, return JSON. Each
 * invocation gets its own logger (the step, execution and certificate on every line) and its own
 * metrics, written when it ends with the step's duration. Errors
 * are logged by name and message (never a stack with data) and rethrown unchanged, so their
 * `name` reaches Step Functions' Retry/Catch as the Lambda runtime reports it (`errorType`).
 */
export function makeHandler<I, O>(spec: HandlerSpec<I, O>): TaskHandler<O> {
  let context: StepContext | undefined;
  let baseLogger: PowertoolsLogAdapter | undefined;
  return async (raw: unknown, lambdaContext?: Partial<LambdaContext>): Promise<O> => {
    const started = Date.now();
    baseLogger ??= PowertoolsLogAdapter.create(logSink());
    const step = spec.stepOf?.(raw) ?? spec.step;
    const logger = baseLogger.withFields(invocationFields(step, raw, lambdaContext));
    let metrics: EmfMetrics | undefined;
    try {
      context ??= buildStepContext(spec.step, spec.wiring);
      metrics = new EmfMetrics(context.config.monitoring.namespace, metricsSink());
      const ctx = { ...context, logger, metrics };
      const input = spec.parse(raw);
      const result = await withInvocationLimits(invocationLimitsOf(lambdaContext), () =>
        spec.run(input, ctx),
      );
      logger.info('step succeeded', { ms: Date.now() - started });
      return result;
    } catch (error) {
      logger.error('step failed', { ms: Date.now() - started, error: describeError(error) });
      throw error;
    } finally {
      if (metrics) {
        metrics.add(METRIC.stepDuration, 'Milliseconds', Date.now() - started, { [DIMENSION.step]: step });
        try {
          metrics.flush();
        } catch (error) {
          // A step's outcome never depends on its metrics (a stored certificate stays issued).
          logger.warn('could not write metrics', { error: describeError(error) });
        }
      }
    }
  };
}
