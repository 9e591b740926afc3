import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { rootCertificates } from 'node:tls';
import { nodeHttpsTransport } from '../../lambdas/adapters/acme/transport/node-https';
import { AcmeClient } from '../../lambdas/core/acme/api';
import { AcmeHttp, type AcmeRetryEvent } from '../../lambdas/core/acme/http';
import { AccountKey, createAccountKeyPem } from '../../lambdas/core/acme/jws';
import { splitPemChain } from '../../lambdas/core/certificate/inspect';
import { AcmeProblemError, AcmeRequestError } from '../../lambdas/core/errors';
import { withInvocationLimits } from '../../lambdas/core/invocation-limits';
import { createSelfSignedTls } from '../../local/tls';
import { issueWithClient } from '../support/acme-flow';
import { freeTcpPort, startTestPebble, type TestPebble } from '../support/pebble-fixture';

/** Start a loopback HTTP server; resolves with its base URL. */
async function serve(
  handler: Parameters<typeof createHttpServer>[1],
): Promise<{ server: Server; base: string }> {
  const server = createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { server, base: `http://127.0.0.1:${port}` };
}

function close(server: Server | TcpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function newClient(pebble: TestPebble, http: AcmeHttp): Promise<AcmeClient> {
  const client = new AcmeClient({
    directoryUrl: pebble.directoryUrl,
    http,
    accountKey: new AccountKey(await createAccountKeyPem()),
  });
  await client.newAccount({ termsOfServiceAgreed: true, contact: ['mailto:ops@example.test'] });
  return client;
}

/**
 * certflow's RFC 8555 client against a real Pebble that rejects 60 % of nonces
 * (PEBBLE_WFE_NONCEREJECT=60): every request type must recover from `badNonce` (§6.5).
 */
describe('ACME client: badNonce recovery against Pebble rejecting 60 % of nonces', () => {
  let pebble: TestPebble;
  beforeAll(async () => {
    pebble = await startTestPebble({
      dnsServer: `127.0.0.1:${await freeTcpPort()}`,
      env: { PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_WFE_NONCEREJECT: '60', PEBBLE_AUTHZREUSE: '0' },
    });
  });
  afterAll(async () => {
    await pebble?.stop();
  });

  it('issues ten certificates, each request type retrying badNonce with the nonce the error carried', async () => {
    const retries: AcmeRetryEvent[] = [];
    const http = new AcmeHttp(nodeHttpsTransport, {
      ca: readFileSync(pebble.caBundleFile, 'utf8'),
      onRetry: (event) => retries.push(event),
    });
    const serials = new Set<string>();
    for (let i = 0; i < 10; i++) {
      // A new account each time, so newAccount is exercised as often as the others.
      const client = await newClient(pebble, http);
      const names = [`n${i}.example.test`, `*.n${i}.example.test`];
      const { fullchainPem, keyPem } = await issueWithClient(client, names);
      const [leaf] = splitPemChain(fullchainPem);
      const cert = new X509Certificate(leaf ?? '');
      expect(cert.subjectAltName).toBe(`DNS:${names[0]}, DNS:${names[1]}`);
      expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
      serials.add(cert.serialNumber);
    }
    expect(serials.size).toBe(10);
    const rejected = new Set(retries.filter((r) => r.reason === 'badNonce').map((r) => r.operation));
    expect([...rejected].sort()).toEqual(
      [
        'authorization',
        'certificate download',
        'challenge',
        'finalize',
        'newAccount',
        'newOrder',
        'order',
      ].sort(),
    );
    // Only badNonce was retried: nothing else went wrong.
    expect(retries.filter((r) => r.reason !== 'badNonce')).toEqual([]);
    // Each retry used the nonce of the answer before it (§6.5, §7.2): Pebble's log shows a
    // single newNonce request, for the very first POST.
    const log = readFileSync(pebble.logFile, 'utf8');
    expect(log.match(/HEAD \/nonce-plz/g)).toHaveLength(1);
    expect(log).toContain('Configured to reject 60% of good nonces');
  });
});

describe('ACME client: unreachable or failing CA', () => {
  it('fails at once with AcmeRequestError naming the directory URL and ECONNREFUSED', async () => {
    const directoryUrl = `https://127.0.0.1:${await freeTcpPort()}/dir`;
    const retries: AcmeRetryEvent[] = [];
    const client = new AcmeClient({
      directoryUrl,
      http: new AcmeHttp(nodeHttpsTransport, { onRetry: (e) => retries.push(e) }),
    });

    const error = await client.directory().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AcmeRequestError);
    expect((error as Error).message).toBe(
      `ACME directory failed: GET ${directoryUrl}: ECONNREFUSED (connect ECONNREFUSED ${new URL(directoryUrl).host})`,
    );
    // A refused connection is not retried inside the client; the state machine's Retry paces it.
    expect(retries).toEqual([]);
  });

  it('abandons a CA that accepts the connection but never answers, with ETIMEDOUT and the URL', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/dir`;
    try {
      const client = new AcmeClient({
        directoryUrl: url,
        http: new AcmeHttp(nodeHttpsTransport, { requestTimeoutMs: 300 }),
      });
      const error = await client.directory().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AcmeRequestError);
      expect((error as Error).message).toBe(
        `ACME directory failed: GET ${url}: ETIMEDOUT (no complete answer from ${new URL(url).host} within 300 ms)`,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await close(silent);
    }
  });

  it('a CA that answers byte by byte is still abandoned at the total deadline, not kept alive by each byte', async () => {
    const sockets: Socket[] = [];
    const trickle = createTcpServer((socket) => {
      sockets.push(socket);
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n');
        const timer = setInterval(() => socket.write('{'), 50);
        socket.once('close', () => clearInterval(timer));
      });
    });
    await new Promise<void>((resolve) => trickle.listen(0, '127.0.0.1', resolve));
    const address = trickle.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/dir`;
    try {
      const client = new AcmeClient({
        directoryUrl: url,
        http: new AcmeHttp(nodeHttpsTransport, { requestTimeoutMs: 400 }),
      });
      const started = Date.now();
      const error = await client.directory().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AcmeRequestError);
      expect((error as Error).message).toContain(
        `no complete answer from ${new URL(url).host} within 400 ms`,
      );
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      for (const s of sockets) s.destroy();
      await close(trickle);
    }
  });

  it("never waits past the invocation's deadline (less the margin), and says so", async () => {
    const sockets: Socket[] = [];
    const mute = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const address = mute.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/dir`;
    try {
      const client = new AcmeClient({
        directoryUrl: url,
        http: new AcmeHttp(nodeHttpsTransport, { requestTimeoutMs: 60_000, deadlineMarginMs: 200 }),
      });
      const error = await withInvocationLimits({ deadline: Date.now() + 700 }, () =>
        client.directory(),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AcmeRequestError);
      expect((error as Error).message).toMatch(
        /ETIMEDOUT \(no complete answer from 127\.0\.0\.1:\d+ within \d{3} ms \(what the function had left, less 200 ms\)\)/,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await close(mute);
    }
  });

  it("stops a request in flight when the invocation's signal aborts, at once", async () => {
    const sockets: Socket[] = [];
    const mute = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const address = mute.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/dir`;
    const stop = new AbortController();
    try {
      const client = new AcmeClient({
        directoryUrl: url,
        http: new AcmeHttp(nodeHttpsTransport, { requestTimeoutMs: 60_000 }),
      });
      const pending = withInvocationLimits({ signal: stop.signal }, () => client.directory()).catch(
        (e: unknown) => e,
      );
      setTimeout(() => stop.abort(), 200);
      const error = await pending;
      expect(error).toBeInstanceOf(AcmeRequestError);
      expect((error as Error).message).toMatch(
        /ABORT_ERR \(stopped waiting for 127\.0\.0\.1:\d+: the run was stopped\)/,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await close(mute);
    }
  });

  it('retries HTTP 503 after the Retry-After the CA sent, then succeeds', async () => {
    let calls = 0;
    const { server, base } = await serve((_req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(503, { 'retry-after': '2', 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ type: 'urn:ietf:params:acme:error:serverInternal', detail: 'busy' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ newNonce: `${base}/nonce`, newAccount: `${base}/acct`, newOrder: `${base}/order` }),
      );
    });
    try {
      const waits: number[] = [];
      const http = new AcmeHttp(nodeHttpsTransport, { sleep: async (ms) => void waits.push(ms) });
      const dir = await new AcmeClient({ directoryUrl: `${base}/dir`, http }).directory();
      expect(dir.newOrder).toBe(`${base}/order`);
      expect(calls).toBe(2);
      expect(waits).toEqual([2000]);
    } finally {
      await close(server);
    }
  });

  it('gives up after three attempts at a CA answering 500, naming the URL and the status', async () => {
    let calls = 0;
    const { server, base } = await serve((_req, res) => {
      calls++;
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('upstream exploded');
    });
    try {
      const http = new AcmeHttp(nodeHttpsTransport, { sleep: async () => undefined });
      const error = await new AcmeClient({ directoryUrl: `${base}/dir`, http })
        .directory()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AcmeRequestError);
      expect((error as Error).message).toBe(
        `ACME directory failed: GET ${base}/dir answered HTTP 500 after 3 attempts: upstream exploded`,
      );
      expect(calls).toBe(3);
    } finally {
      await close(server);
    }
  });

  it('keeps a problem document whole, subproblems included, and does not retry a permanent one', async () => {
    const problem = {
      type: 'urn:ietf:params:acme:error:rejectedIdentifier',
      detail: 'Some of the identifiers requested were rejected',
      status: 400,
      subproblems: [
        {
          type: 'urn:ietf:params:acme:error:rejectedIdentifier',
          detail: 'This CA will not issue for "example.net"',
          identifier: { type: 'dns', value: 'example.net' },
        },
      ],
    };
    let orders = 0;
    const { server, base } = await serve((req, res) => {
      if (req.url === '/dir') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            newNonce: `${base}/nonce`,
            newAccount: `${base}/acct`,
            newOrder: `${base}/order`,
          }),
        );
      } else if (req.url === '/nonce') {
        res.writeHead(200, { 'replay-nonce': `n${Date.now()}` });
        res.end();
      } else {
        orders++;
        res.writeHead(400, { 'content-type': 'application/problem+json', 'replay-nonce': 'fresh' });
        res.end(JSON.stringify(problem));
      }
    });
    try {
      const client = new AcmeClient({
        directoryUrl: `${base}/dir`,
        http: new AcmeHttp(nodeHttpsTransport),
        accountKey: new AccountKey(await createAccountKeyPem()),
        accountUrl: `${base}/acct/1`,
      });
      const error = await client.newOrder(['example.net']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AcmeProblemError);
      expect((error as AcmeProblemError).problem).toEqual(problem);
      expect((error as Error).message).toBe(
        `ACME newOrder failed: POST ${base}/order answered HTTP 400: urn:ietf:params:acme:error:rejectedIdentifier: Some of the identifiers requested were rejected [example.net: urn:ietf:params:acme:error:rejectedIdentifier: This CA will not issue for "example.net"] (CA problem: ${JSON.stringify(problem)})`,
      );
      expect(orders).toBe(1);
    } finally {
      await close(server);
    }
  });
});

/**
 * `acme.caBundleFile` adds to Node's bundled roots: a CA whose TLS certificate is in the bundle
 * is reached (also as the second certificate of a bundle, and on every connection of the shared
 * agent), and one that is not (another key under the same name) is refused with the hint to set
 * the bundle.
 */
describe('ACME client: TLS trust from acme.caBundleFile', () => {
  let server: HttpsServer;
  let url: string;
  let trusted: string;
  let other: string;
  beforeAll(async () => {
    const tls = await createSelfSignedTls(['127.0.0.1']);
    trusted = tls.certPem;
    other = (await createSelfSignedTls(['127.0.0.1'])).certPem;
    // Every answer closes its connection, so each request makes a new TLS connection.
    server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end('{"newNonce":"x"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/dir`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('reaches a CA whose certificate is in the bundle, on every new connection', async () => {
    // The bundle's second certificate (after an unrelated CA's: a different subject).
    for (const ca of [trusted, `${rootCertificates[0]}\n${trusted}`]) {
      const http = new AcmeHttp(nodeHttpsTransport, { ca });
      for (let i = 0; i < 3; i++) expect((await http.get('directory', url)).status).toBe(200);
    }
  });

  it('refuses a CA whose certificate is not in the bundle, or with no bundle, naming acme.caBundleFile', async () => {
    for (const options of [{ ca: other }, {}]) {
      const error = await new AcmeHttp(nodeHttpsTransport, options)
        .get('directory', url)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AcmeRequestError);
      expect((error as Error).message).toContain(`GET ${url}: DEPTH_ZERO_SELF_SIGNED_CERT`);
      expect((error as Error).message).toContain('set acme.caBundleFile to its PEM');
    }
  });
});

/**
 * Polling an order after finalize (RFC 8555 §7.4): the CA's `Retry-After` when it sends one
 * (capped), else 250 ms, 500 ms, then 1 s between polls.
 */
describe('ACME client: polling a processing order', () => {
  async function processingCa(times: number, retryAfter?: string) {
    let polls = 0;
    let nonce = 0;
    const served = await serve((req, res) => {
      const base = served.base;
      const headers = { 'replay-nonce': `nonce-${++nonce}`, 'content-type': 'application/json' };
      if (req.url === '/dir') {
        res.writeHead(200, headers);
        res.end(
          JSON.stringify({ newNonce: `${base}/nonce`, newAccount: `${base}/acct`, newOrder: `${base}/new` }),
        );
      } else if (req.url === '/nonce') {
        res.writeHead(200, headers);
        res.end();
      } else {
        polls++;
        const processing = polls <= times;
        res.writeHead(200, {
          ...headers,
          ...(processing && retryAfter ? { 'retry-after': retryAfter } : {}),
        });
        res.end(
          JSON.stringify({
            status: processing ? 'processing' : 'valid',
            identifiers: [{ type: 'dns', value: 'www.example.test' }],
            authorizations: [],
            finalize: `${base}/order/1/finalize`,
            ...(processing ? {} : { certificate: `${base}/cert/1` }),
          }),
        );
      }
    });
    const client = new AcmeClient({
      directoryUrl: `${served.base}/dir`,
      http: new AcmeHttp(nodeHttpsTransport),
      accountKey: new AccountKey(await createAccountKeyPem()),
      accountUrl: `${served.base}/acct/1`,
    });
    return { ...served, client, polls: () => polls };
  }

  it('polls soon at first when the CA gives no Retry-After: 50, 150, 300, 500 ms, then every second', async () => {
    const ca = await processingCa(6);
    try {
      const waits: number[] = [];
      const order = await ca.client.waitForOrder(`${ca.base}/order/1`, {
        while: ['processing'],
        sleep: async (ms) => void waits.push(ms),
      });
      expect(order.status).toBe('valid');
      expect(ca.polls()).toBe(7);
      expect(waits).toEqual([50, 150, 300, 500, 1000, 1000]);
    } finally {
      await close(ca.server);
    }
  });

  it("waits what the CA's Retry-After says, at most 5 s", async () => {
    for (const [header, wait] of [
      ['2', 2000],
      ['120', 5000],
    ] as const) {
      const ca = await processingCa(2, header);
      try {
        const waits: number[] = [];
        await ca.client.waitForOrder(`${ca.base}/order/1`, {
          while: ['processing'],
          sleep: async (ms) => void waits.push(ms),
        });
        expect(waits).toEqual([wait, wait]);
      } finally {
        await close(ca.server);
      }
    }
  });
});
