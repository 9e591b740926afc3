import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What bounds the current function invocation: when it must be over (Lambda's own deadline,
 * `context.getRemainingTimeInMillis()`), and a signal that stops it at once (local mode:
 * SIGINT/SIGTERM of the run). Network clients read them so that no request outlives the
 * invocation that made it.
 */
export interface InvocationLimits {
  /** Epoch milliseconds by which the invocation must have ended. */
  deadline?: number;
  /** Aborted when the invocation must stop now. */
  signal?: AbortSignal;
}

const current = new AsyncLocalStorage<InvocationLimits>();

/** Run `work` with `limits` visible to everything it calls (through {@link invocationLimits}). */
export function withInvocationLimits<T>(limits: InvocationLimits, work: () => Promise<T>): Promise<T> {
  return current.run(limits, work);
}

/** The limits of the invocation the caller runs in; none outside one (tests, the CLI). */
export function invocationLimits(): InvocationLimits {
  return current.getStore() ?? {};
}
