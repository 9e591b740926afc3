/**
 * The ACME HTTP layer (RFC 8555 §6) over an {@link AcmeTransport} (the socket adapter), with an
 * optional extra CA bundle, connect and overall timeouts (a total deadline per request, whatever the socket does, never
 * past the invocation's own deadline, and cut short when the invocation is aborted),
 * Replay-Nonce bookkeeping (§7.2), `badNonce` retries with the
 * nonce from the error response (§6.5), bounded retries of transient failures (HTTP 5xx,
 * connection resets; `Retry-After` honoured), and problem documents (§6.7) kept whole in the
 * errors it throws. Knows nothing of keys: signed requests get their body from a callback that
 * is given each attempt's nonce.
 */
import { withProblem } from '../ca-problem';
import { AcmeProblemError, AcmeRequestError } from '../errors';
import { invocationLimits } from '../invocation-limits';
import type { FlattenedJws } from './jws';
import {
  type AcmeProblem,
  isPermanentProblem,
  isProblemType,
  parseProblem,
  summarizeProblem,
} from './problem';
import { ABORTED, type AcmeResponse, type AcmeTransport, AcmeTransportError } from './transport';

export type { AcmeResponse } from './transport';

/** What the transport may be told; every field has a default. */
export interface AcmeHttpOptions {
  /** Extra CA certificates (PEM) to trust besides Node's bundled roots, e.g. Pebble's. */
  ca?: string;
  /** Time allowed to open the TCP connection. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Time allowed for one whole request, from start to the last byte of the answer (a total
   * deadline: an answer trickling in byte by byte does not extend it). Never more than the
   * invocation has left, less {@link AcmeHttpOptions.deadlineMarginMs}. @default 10000
   */
  requestTimeoutMs?: number;
  /**
   * Time kept back from the invocation's deadline (lambdas/core/invocation-limits.ts): a request
   * is abandoned this long before the function would be cut off, so the step fails with the
   * transport's error (naming the URL) rather than a bare timeout. @default 2000
   */
  deadlineMarginMs?: number;
  /** Attempts per request for transient failures (HTTP 5xx, connection reset). @default 3 */
  transientAttempts?: number;
  /**
   * Attempts per signed request while the CA answers `badNonce` (§6.5). Each retry is one round
   * trip with the nonce the error carried, so the bound is generous: at Pebble's
   * `PEBBLE_WFE_NONCEREJECT=60`, one call exhausts 25 attempts with probability 0.6^25 ≈ 3e-6.
   * @default 25
   */
  badNonceAttempts?: number;
  /** Upper bound of one wait between transient attempts, whatever `Retry-After` says. @default 10000 */
  maxRetryDelayMs?: number;
  /** First wait between transient attempts when the CA gives no `Retry-After`; doubles each time. @default 500 */
  retryBaseDelayMs?: number;
  /** How to wait; default a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Told of each retry (for logs and tests). Never given a secret. */
  onRetry?: (event: AcmeRetryEvent) => void;
}

/** One retry the transport made. */
export interface AcmeRetryEvent {
  operation: string;
  method: string;
  url: string;
  reason: 'badNonce' | 'transient';
  /** The attempt that failed (1-based). */
  attempt: number;
  /** `HTTP 503`, `ECONNRESET`, `badNonce`... */
  cause: string;
}

const USER_AGENT = 'certflow-acme/1 (node:https; RFC 8555)';
const MAX_NONCES = 16;
/** Transport errors worth an immediate new attempt: the connection broke after it was made. */
const RETRYABLE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);
const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The HTTP client every ACME request goes through. Keeps the nonces the CA hands out. */
export class AcmeHttp {
  private readonly options: Required<Omit<AcmeHttpOptions, 'ca' | 'onRetry'>> &
    Pick<AcmeHttpOptions, 'ca' | 'onRetry'>;
  private readonly nonces: string[] = [];
  private newNonceUrl: (() => Promise<string>) | undefined;

  /**
   * @param transport what moves the bytes (lambdas/adapters/acme/transport/node-https.ts).
   */
  constructor(
    private readonly transport: AcmeTransport,
    options: AcmeHttpOptions = {},
  ) {
    this.options = {
      connectTimeoutMs: 5000,
      requestTimeoutMs: 10_000,
      deadlineMarginMs: 2000,
      transientAttempts: 3,
      badNonceAttempts: 25,
      maxRetryDelayMs: 10_000,
      retryBaseDelayMs: 500,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      ...options,
    };
  }

  /** Where fresh nonces come from (the directory's `newNonce`, §7.2); set by the API layer. */
  useNewNonceUrl(provider: () => Promise<string>): void {
    this.newNonceUrl = provider;
  }

  /**
   * Unauthenticated GET (the directory, §7.1.1; renewalInfo, RFC 9773 §4.2), retried while
   * transient. `okStatuses` are returned as they are; other statuses throw.
   */
  async get(operation: string, url: string, okStatuses: readonly number[] = [200]): Promise<AcmeResponse> {
    return this.withTransientRetries(operation, 'GET', url, async () => {
      const res = await this.send('GET', url);
      return okStatuses.includes(res.status) ? { res } : { res, failed: true };
    });
  }

  /**
   * A signed POST (§6.2), or POST-as-GET (§6.3) when the callback signs an empty payload. Each
   * attempt gets a nonce: the last one the CA sent, else a fresh one from `newNonce`. A `badNonce`
   * answer is retried at once with the nonce it carried (§6.5).
   *
   * @throws AcmeProblemError for problems a retry cannot fix (carries the document).
   * @throws AcmeRequestError when every attempt failed transiently (names the URL and the cause).
   */
  async post(
    operation: string,
    url: string,
    sign: (nonce: string) => FlattenedJws,
    accept?: string,
  ): Promise<AcmeResponse> {
    let badNonces = 0;
    return this.withTransientRetries(operation, 'POST', url, async () => {
      for (;;) {
        const nonce = await this.takeNonce(operation);
        const body = JSON.stringify(sign(nonce));
        const res = await this.send('POST', url, body, accept);
        if (res.status >= 200 && res.status < 300) return { res };
        const problem = parseProblem(header(res, 'content-type'), res.body);
        if (isProblemType(problem, 'badNonce') && ++badNonces < this.options.badNonceAttempts) {
          this.options.onRetry?.({
            operation,
            method: 'POST',
            url,
            reason: 'badNonce',
            attempt: badNonces,
            cause: 'badNonce',
          });
          continue;
        }
        return { res, failed: true, problem, badNonces };
      }
    });
  }

  /** A nonce for the next signed request (§7.2): the newest one kept, else `HEAD newNonce`. */
  private async takeNonce(operation: string): Promise<string> {
    const kept = this.nonces.pop();
    if (kept) return kept;
    if (!this.newNonceUrl) throw new Error('AcmeHttp: no newNonce URL; the API layer sets it');
    const url = await this.newNonceUrl();
    await this.withTransientRetries(`${operation} (newNonce)`, 'HEAD', url, async () => {
      const res = await this.send('HEAD', url);
      return res.status === 200 || res.status === 204 ? { res } : { res, failed: true };
    });
    const fresh = this.nonces.pop();
    if (!fresh) {
      throw new AcmeRequestError(
        `ACME ${operation} failed: HEAD ${url} answered without a Replay-Nonce header (RFC 8555 §7.2)`,
      );
    }
    return fresh;
  }

  /**
   * Run `attempt` until it returns a success, retrying transient failures (connection reset,
   * HTTP 5xx, unknown 4xx problem types are not retried here) with `Retry-After` or a doubling
   * wait. Turns the final failure into the named error.
   */
  private async withTransientRetries(
    operation: string,
    method: string,
    url: string,
    attempt: () => Promise<{
      res: AcmeResponse;
      failed?: boolean;
      problem?: AcmeProblem;
      badNonces?: number;
    }>,
  ): Promise<AcmeResponse> {
    for (let n = 1; ; n++) {
      let outcome: Awaited<ReturnType<typeof attempt>>;
      try {
        outcome = await attempt();
      } catch (error) {
        if (!(error instanceof AcmeTransportError)) throw error;
        if (
          RETRYABLE_CODES.has(error.code) &&
          n < this.options.transientAttempts &&
          this.timeLeftMs() > this.delay(n)
        ) {
          this.options.onRetry?.({
            operation,
            method,
            url,
            reason: 'transient',
            attempt: n,
            cause: error.code,
          });
          await this.options.sleep(this.delay(n));
          continue;
        }
        const hint = TLS_TRUST_CODES.has(error.code)
          ? '; if the CA uses a private root (Pebble, an internal CA), set acme.caBundleFile to its PEM'
          : '';
        throw new AcmeRequestError(
          `ACME ${operation} failed: ${method} ${url}: ${error.code} (${error.message})${attempts(n)}${hint}`,
          { cause: error },
        );
      }
      const { res } = outcome;
      if (!outcome.failed) return res;
      const problem = outcome.problem ?? parseProblem(header(res, 'content-type'), res.body);
      const transient = res.status >= 500 || res.status === 408;
      const wait = retryAfterMs(res, this.options.maxRetryDelayMs) ?? this.delay(n);
      if (transient && n < this.options.transientAttempts && this.timeLeftMs() > wait) {
        const cause = `HTTP ${res.status}`;
        this.options.onRetry?.({ operation, method, url, reason: 'transient', attempt: n, cause });
        await this.options.sleep(wait);
        continue;
      }
      throw failure(operation, method, res, problem, n, outcome.badNonces ?? 0);
    }
  }

  /**
   * What the invocation has left for requests: until its deadline less the margin (unbounded
   * outside an invocation); nothing once it was aborted.
   */
  private timeLeftMs(): number {
    const { deadline, signal } = invocationLimits();
    if (signal?.aborted) return 0;
    return deadline === undefined
      ? Number.POSITIVE_INFINITY
      : deadline - this.options.deadlineMarginMs - Date.now();
  }

  /** Wait before transient retry number `n` (1-based): base * 2^(n-1), jittered to 50-100 %, capped. */
  private delay(n: number): number {
    const ceiling = Math.min(this.options.maxRetryDelayMs, this.options.retryBaseDelayMs * 2 ** (n - 1));
    return Math.floor(ceiling * (0.5 + Math.random() / 2));
  }

  /**
   * One HTTP exchange, bounded by the connect timeout and a total deadline: the request timeout,
   * or what the invocation has left less the margin when that is sooner. Stopped at once when
   * the invocation is aborted. Keeps the answer's nonce.
   */
  private async send(method: string, url: string, body?: string, accept?: string): Promise<AcmeResponse> {
    const { connectTimeoutMs } = this.options;
    const { signal } = invocationLimits();
    const left = this.timeLeftMs();
    const requestTimeoutMs = Math.max(0, Math.floor(Math.min(this.options.requestTimeoutMs, left)));
    const requestBound =
      requestTimeoutMs < this.options.requestTimeoutMs
        ? `within ${requestTimeoutMs} ms (what the function had left, less ${this.options.deadlineMarginMs} ms)`
        : `within ${requestTimeoutMs} ms`;
    if (signal?.aborted) throw new AcmeTransportError(ABORTED, 'not sent: the run was stopped');
    if (requestTimeoutMs <= 0) {
      throw new AcmeTransportError(
        'ETIMEDOUT',
        `not sent: the function had less than ${this.options.deadlineMarginMs} ms left`,
      );
    }
    const headers: Record<string, string | number> = { 'user-agent': USER_AGENT };
    if (accept) headers.accept = accept;
    if (body !== undefined) {
      headers['content-type'] = 'application/jose+json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const answer = await this.transport.send({
      method,
      url,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(this.options.ca !== undefined ? { ca: this.options.ca } : {}),
      connectTimeoutMs,
      requestTimeoutMs,
      requestBound,
      ...(signal ? { signal } : {}),
    });
    const nonce = header(answer, 'replay-nonce');
    if (nonce && /^[A-Za-z0-9_-]+$/.test(nonce)) {
      this.nonces.push(nonce);
      if (this.nonces.length > MAX_NONCES) this.nonces.shift();
    }
    return answer;
  }
}

/** A single response header as a string. */
export function header(res: AcmeResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `Retry-After` (RFC 9110 §10.2.3: seconds, or an HTTP date) in milliseconds, capped at `max`;
 * undefined when absent or unreadable.
 */
export function retryAfterMs(res: AcmeResponse, max: number): number | undefined {
  const value = header(res, 'retry-after')?.trim();
  if (!value) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  if (Number.isNaN(ms)) return undefined;
  return Math.min(max, Math.max(0, ms));
}

function attempts(n: number): string {
  return n > 1 ? ` after ${n} attempts` : '';
}

/**
 * The error for a final non-2xx answer: {@link AcmeProblemError} for problems a retry cannot fix
 * and for client errors without a problem document; {@link AcmeRequestError} otherwise. The
 * message carries the document ({@link withProblem}) so alerts can.
 */
function failure(
  operation: string,
  method: string,
  res: AcmeResponse,
  problem: AcmeProblem | undefined,
  n: number,
  badNonces: number,
): AcmeProblemError | AcmeRequestError {
  const tries = badNonces > 0 ? ` after ${badNonces + 1} attempts (${badNonces} badNonce)` : attempts(n);
  const head = `ACME ${operation} failed: ${method} ${res.url} answered HTTP ${res.status}${tries}`;
  if (problem) {
    const message = withProblem(`${head}: ${summarizeProblem(problem)}`, problem);
    const wait = retryAfterMs(res, Number.MAX_SAFE_INTEGER);
    return isPermanentProblem(problem)
      ? new AcmeProblemError(
          message,
          problem,
          wait === undefined ? {} : { retryAfter: new Date(Date.now() + wait) },
        )
      : new AcmeRequestError(message, { cause: problem });
  }
  const text = res.body.toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
  if (res.status >= 500 || res.status === 408 || res.status === 429 || res.status === 0) {
    return new AcmeRequestError(`${head}${text ? `: ${text}` : ''}`);
  }
  // RFC 7807 §4.2: "about:blank" stands for a problem that is just its HTTP status.
  const blank: AcmeProblem = { type: 'about:blank', status: res.status, ...(text ? { detail: text } : {}) };
  return new AcmeProblemError(withProblem(`${head}${text ? `: ${text}` : ''}`, blank), blank);
}
