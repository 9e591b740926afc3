/**
 * Bounded exponential backoff with "full jitter" for AWS API calls, and the test for the
 * throttling errors it is meant for. See the AWS Architecture Blog, "Exponential Backoff And
 * Jitter" (full jitter: sleep = random(0, min(cap, base * 2^attempt))).
 */

/** Error names AWS services use for request-rate throttling (Route 53 answers 400 with the first three). */
export const THROTTLING_ERROR_NAMES: ReadonlySet<string> = new Set([
  'Throttling',
  'ThrottlingException',
  'PriorRequestNotComplete',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** The fields of an AWS SDK v3 service exception this module reads. */
interface SdkErrorShape {
  name?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The HTTP status of an AWS SDK v3 error, when it has one. */
export function httpStatusOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const status = (error as SdkErrorShape).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The `name` of an error-like value (AWS SDK v3 uses the service's error code). */
export function errorNameOf(error: unknown): string {
  if (error === null || typeof error !== 'object') return typeof error;
  const name = (error as SdkErrorShape).name;
  return typeof name === 'string' ? name : 'Error';
}

/** True for throttling: a known throttling error name (HTTP 400 or 429), or any HTTP 429. */
export function isThrottlingError(error: unknown): boolean {
  return THROTTLING_ERROR_NAMES.has(errorNameOf(error)) || httpStatusOf(error) === 429;
}

export interface BackoffOptions {
  /** Total attempts including the first (at least 1). */
  maxAttempts: number;
  /** Base delay in milliseconds; attempt n (0-based) waits up to `base * 2^n`. */
  baseDelayMs: number;
  /** Upper bound of one wait, in milliseconds. Default 5000. */
  maxDelayMs?: number;
  /** Source of randomness in [0, 1); default `Math.random`. */
  random?: () => number;
  /** How to wait; default a `setTimeout` promise. */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full-jitter delay before retry number `retry` (0-based): uniform in [0, min(cap, base * 2^retry)). */
export function fullJitterDelay(retry: number, options: BackoffOptions): number {
  const cap = options.maxDelayMs ?? 5000;
  const ceiling = Math.min(cap, options.baseDelayMs * 2 ** retry);
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/** Wait the full-jitter delay for retry number `retry`. */
export function backoff(retry: number, options: BackoffOptions): Promise<void> {
  return (options.sleep ?? defaultSleep)(fullJitterDelay(retry, options));
}

/**
 * Call `fn` until it succeeds, retrying (after a full-jitter wait) only while `retryable(error)`
 * holds. A non-retryable error is rethrown unchanged at once; when every attempt failed with a
 * retryable error, the last one is rethrown, so the caller's translation (`retryable(e)` still
 * true means "exhausted") decides the named error.
 */
export async function retryWhile<T>(
  fn: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  options: BackoffOptions,
): Promise<T> {
  const attempts = Math.max(1, Math.floor(options.maxAttempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!retryable(error) || attempt >= attempts) throw error;
    }
    await backoff(attempt - 1, options);
  }
}
