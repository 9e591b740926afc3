/**
 * A TLS-terminating loopback proxy in front of Pebble, to inject faults into chosen ACME
 * requests (RFC 8555) mid-run. Pebble builds every URL it hands out (directory, orders,
 * finalize, certificate) from the request's Host, so once a client starts at the proxy's
 * directory URL, every request it makes goes through the proxy. A rule may let a request reach
 * Pebble and then drop the answer (the client sees the connection reset: the CA acted, the
 * client does not know), as a network that fails at the wrong moment would; or answer a request
 * itself, as the CA would (e.g. a `rateLimited` problem), without passing it on.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import { join } from 'node:path';
import { freeTcpPort } from '../../local/ports';
import { createSelfSignedTls } from '../../local/tls';

/** An answer the proxy gives itself, as the CA would, without passing the request on. */
export interface CannedAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * What to do with a request: pass it to the CA and its answer back, pass it and drop the answer,
 * answer it here (the CA never sees it) with `answer`, pass it and hand back the CA's answer
 * with its body changed by `rewrite` (Content-Length set to the new length, so the answer looks
 * whole to the client), or `hang`: accept it and never answer (the connection stays open until
 * the client gives up or the proxy closes).
 */
export type AcmeFault =
  | 'pass'
  | 'drop-answer'
  | 'hang'
  | { answer: CannedAnswer }
  | { rewrite: (body: Buffer, status: number) => Buffer };

export interface AcmeProxy {
  directoryUrl: string;
  /** A PEM file trusting the proxy (for `acme.caBundleFile`). */
  caBundleFile: string;
  /** Every request seen: method and path. */
  readonly requests: { method: string; path: string; fault: AcmeFault }[];
  close(): Promise<void>;
}

export async function startAcmeProxy(options: {
  /** Pebble's port and its TLS certificate (PEM file). */
  upstreamPort: number;
  upstreamCaFile: string;
  /** Where to write the proxy's CA bundle. */
  directory: string;
  /**
   * The fault for each request, by method and path (e.g. the first POST to a /finalize/ path),
   * decided when the request arrives.
   */
  rule: (method: string, path: string) => AcmeFault;
}): Promise<AcmeProxy> {
  const tls = await createSelfSignedTls(['127.0.0.1', 'localhost']);
  const caBundleFile = join(options.directory, 'acme-proxy-ca.pem');
  writeFileSync(caBundleFile, tls.certPem);
  const upstreamCa = readFileSync(options.upstreamCaFile, 'utf8');
  const requests: AcmeProxy['requests'] = [];
  const port = await freeTcpPort();

  const server: Server = createHttpsServer(
    { cert: tls.certPem, key: tls.keyPem },
    (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const method = req.method ?? 'GET';
        const path = req.url ?? '/';
        const fault = options.rule(method, path);
        requests.push({ method, path, fault });
        if (fault === 'hang') return;
        if (typeof fault === 'object' && 'answer' in fault) {
          res.writeHead(fault.answer.status, {
            ...fault.answer.headers,
            'Content-Length': Buffer.byteLength(fault.answer.body),
          });
          res.end(fault.answer.body);
          return;
        }
        const headers = { ...req.headers };
        const upstream = httpsRequest(
          {
            host: '127.0.0.1',
            port: options.upstreamPort,
            method,
            path,
            headers,
            ca: upstreamCa,
            agent: false,
          },
          (answer) => {
            const body: Buffer[] = [];
            answer.on('data', (c: Buffer) => body.push(c));
            answer.on('end', () => {
              if (fault === 'drop-answer') {
                req.socket.destroy();
                return;
              }
              const status = answer.statusCode ?? 502;
              if (typeof fault === 'object') {
                const rewritten = fault.rewrite(Buffer.concat(body), status);
                const headers = { ...answer.headers, 'content-length': String(rewritten.length) };
                delete headers['transfer-encoding'];
                res.writeHead(status, headers);
                res.end(rewritten);
                return;
              }
              res.writeHead(status, answer.headers);
              res.end(Buffer.concat(body));
            });
          },
        );
        upstream.on('error', () => req.socket.destroy());
        upstream.end(Buffer.concat(chunks));
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    directoryUrl: `https://127.0.0.1:${port}/dir`,
    caBundleFile,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
