import { describeError } from '../core/errors';
import type { TaskStep } from '../core/state';
import type { StepContext } from '../core/steps/context';
import { buildContext } from './runtime';

let context: StepContext | undefined;

/** The context, built once per cold start (SDK clients and adapters are reused across invocations). */
function getContext(step: TaskStep): StepContext {
  context ??= buildContext(step);
  return context;
}

/** Forget the cached context (local mode starts a fresh "cold start" per run). */
export function resetHandlerContext(): void {
  context = undefined;
}

/**
 * A thin Lambda handler: build the context once, call one core function, return JSON. Errors
 * are logged by name and message (never a stack with data) and rethrown unchanged, so their
 * `name` reaches Step Functions' Retry/Catch.
 */
export function makeHandler<I, O>(
  step: TaskStep,
  parse: (raw: unknown) => I,
  fn: (input: I, ctx: StepContext) => Promise<O>,
): (event: unknown) => Promise<O> {
  return async (raw: unknown): Promise<O> => {
    const ctx = getContext(step);
    const event = raw as I;
    const started = Date.now();
    const certificate = (event as { certificate?: unknown } | null)?.certificate;
    try {
      const result = await fn(parse(raw), ctx);
      ctx.logger.info('step succeeded', { step, certificate, ms: Date.now() - started });
      return result;
    } catch (error) {
      ctx.logger.error('step failed', {
        step,
        certificate,
        ms: Date.now() - started,
        error: describeError(error),
      });
      throw error;
    }
  };
}
