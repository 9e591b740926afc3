/**
 * Pacing calls to a service with an account-wide request rate (Route 53: five requests per
 * second per AWS account, all its APIs together; "Quotas on Route 53 API requests" in the Route 53
 * developer guide). Every invocation that calls the service spaces its own calls so that, with
 * as many invocations at once as the state machine allows, their sum stays within certflow's
 * share of the rate; throttling that still happens (other users of the account) is retried with
 * backoff by the adapter.
 */

/** Route 53's request quota per AWS account, per second. */
export const ROUTE53_ACCOUNT_REQUESTS_PER_SECOND = 5;

/**
 * The least time between two calls of one invocation: `concurrency` invocations at once share
 * `requestsPerSecond`. Concurrency is the certificates in flight: `renewal.maxConcurrency` per
 * batch × `renewal.batchConcurrency` batches.
 */
export function callIntervalMs(requestsPerSecond: number, concurrency: number): number {
  return Math.ceil((1000 * Math.max(1, concurrency)) / requestsPerSecond);
}

/** Spaces calls at least `intervalMs` apart (the first goes at once). */
export class Pacer {
  private nextAt = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly clock: { now: () => number; sleep: (ms: number) => Promise<void> } = {
      now: () => Date.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
  ) {}

  /** Resolves when the next call may go. */
  async next(): Promise<void> {
    const now = this.clock.now();
    const at = Math.max(now, this.nextAt);
    this.nextAt = at + this.intervalMs;
    if (at > now) await this.clock.sleep(at - now);
  }
}
