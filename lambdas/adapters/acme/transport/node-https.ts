/**
 * The ACME transport over node:http/node:https (the adapter behind core's {@link AcmeTransport}):
 * one exchange with a connect timeout, a total deadline and an abort signal, a body cap, and one
 * keep-alive agent per trusted CA bundle. Nonces, retries and problem documents are core's
 * (lambdas/core/acme/http.ts).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import {
  ABORTED,
  type AcmeExchange,
  type AcmeResponse,
  type AcmeTransport,
  AcmeTransportError,
} from '../../../core/acme/transport';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

const agents = new Map<string, https.Agent>();
const plainAgent = new http.Agent({ keepAlive: true });

/**
 * One TLS context trusting Node's bundled roots and `ca`, made once and shared by every
 * connection of the agent (an agent given `ca` makes a new context per connection, parsing ~140
 * root PEMs each time: ~20 ms of CPU per connection). The extra bundle is added to a default
 * context, whose roots Node parsed once per process; when that native method is not there, the
 * documented way (roots and bundle as `ca`, parsed once here) gives the same trust.
 */
function trustContext(ca: string): SecureContext {
  const context = createSecureContext();
  const native = (context as unknown as { context?: { addCACert?: (pem: string) => void } }).context;
  if (typeof native?.addCACert !== 'function') return createSecureContext({ ca: [...rootCertificates, ca] });
  native.addCACert(ca); // every certificate in the bundle, as `ca` adds it
  return context;
}

/** One keep-alive agent per trusted bundle, shared by every client of the process. */
function httpsAgent(ca: string | undefined): https.Agent {
  const key = ca ?? '';
  let agent = agents.get(key);
  if (!agent) {
    agent = new https.Agent({ keepAlive: true, ...(ca ? { secureContext: trustContext(ca) } : {}) });
    agents.set(key, agent);
  }
  return agent;
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERR_NETWORK';
}

/** Sends each ACME request over node:http or node:https. */
export const nodeHttpsTransport: AcmeTransport = {
  send({
    method,
    url,
    headers,
    body,
    ca,
    connectTimeoutMs,
    requestTimeoutMs,
    requestBound,
    signal,
  }: AcmeExchange): Promise<AcmeResponse> {
    return new Promise<AcmeResponse>((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch (cause) {
        reject(new AcmeTransportError('ERR_INVALID_URL', 'not a URL', { cause }));
        return;
      }
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') {
        reject(new AcmeTransportError('ERR_INVALID_URL', `unsupported scheme ${target.protocol}`));
        return;
      }
      let settled = false;
      const finish = (error: Error | undefined, response?: AcmeResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        clearTimeout(overallTimer);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else if (response) resolve(response);
      };
      const request = (secure ? https : http).request(target, {
        method,
        headers,
        agent: secure ? httpsAgent(ca) : plainAgent,
      });
      const connectTimer = setTimeout(() => {
        request.destroy(
          new AcmeTransportError(
            'ETIMEDOUT',
            `no connection to ${target.host} within ${connectTimeoutMs} ms`,
          ),
        );
      }, connectTimeoutMs);
      const overallTimer = setTimeout(() => {
        request.destroy(
          new AcmeTransportError('ETIMEDOUT', `no complete answer from ${target.host} ${requestBound}`),
        );
      }, requestTimeoutMs);
      const onAbort = (): void => {
        request.destroy(
          new AcmeTransportError(ABORTED, `stopped waiting for ${target.host}: the run was stopped`),
        );
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('socket', (socket) => {
        if (!socket.connecting) clearTimeout(connectTimer);
        else socket.once('connect', () => clearTimeout(connectTimer));
      });
      request.on('error', (error) => {
        finish(
          error instanceof AcmeTransportError
            ? error
            : new AcmeTransportError(codeOf(error), error.message, { cause: error }),
        );
      });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            request.destroy(
              new AcmeTransportError('ERR_RESPONSE_TOO_LARGE', `answer larger than ${MAX_BODY_BYTES} bytes`),
            );
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', (error) => {
          finish(new AcmeTransportError(codeOf(error), error.message, { cause: error }));
        });
        response.on('end', () => {
          const answer: AcmeResponse = {
            url,
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          };
          finish(undefined, answer);
        });
      });
      request.end(body);
    });
  },
};
