/**
 * The ACME transport port (RFC 8555 §6.1: HTTPS): one HTTP exchange, bounded by the times it is
 * given. {@link AcmeHttp} (nonces, retries, problem documents) sends every request through it; the
 * adapter over node:https is lambdas/adapters/acme/transport/node-https.ts.
 */

/** Response headers, names lowercase (as node:http gives them). */
export type HttpHeaders = Record<string, string | string[] | undefined>;

/** One HTTP answer. */
export interface AcmeResponse {
  url: string;
  status: number;
  headers: HttpHeaders;
  body: Buffer;
}

/** One request, with everything the transport needs to bound it. */
export interface AcmeExchange {
  method: string;
  url: string;
  headers: Record<string, string | number>;
  body?: string;
  /** Extra CA certificates (PEM) to trust besides the platform's roots. */
  ca?: string;
  /** Time allowed to open the connection. */
  connectTimeoutMs: number;
  /** Time allowed for the whole exchange, to the last byte of the answer (a total deadline). */
  requestTimeoutMs: number;
  /** How the total deadline reads in the timeout's message (`within 10000 ms`). */
  requestBound: string;
  /** Stops the exchange at once when aborted. */
  signal?: AbortSignal;
}

/** Moves one ACME request and its answer. */
export interface AcmeTransport {
  /** @throws AcmeTransportError when no HTTP answer came (its `code`: `ETIMEDOUT`, `ECONNRESET`, a TLS code...). */
  send(request: AcmeExchange): Promise<AcmeResponse>;
}

/** The code of a request stopped because its invocation was aborted. */
export const ABORTED = 'ABORT_ERR';

/** An error of the transport itself (no HTTP answer), with its OS/TLS code. */
export class AcmeTransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
