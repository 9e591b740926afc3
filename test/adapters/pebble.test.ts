import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicConstraintsExtension, X509Certificate } from '@peculiar/x509';
import { nodeHttpsTransport } from '../../lambdas/adapters/acme/transport/node-https';
import { LocalDirectoryStore } from '../../lambdas/adapters/store/local-directory/local-directory-store';
import { AcmeClient } from '../../lambdas/core/acme/api';
import { AcmeHttp } from '../../lambdas/core/acme/http';
import { AccountKey, createAccountKeyPem } from '../../lambdas/core/acme/jws';
import { inspectCertificate, splitPemChain } from '../../lambdas/core/certificate/inspect';
import { LocalServerError } from '../../lambdas/core/errors';
import { startPebble } from '../../local/pebble';
import {
  ensureLocalPrerequisites,
  findExecutable,
  INSTALL_COMMAND,
  RFC2136_TEST_PROGRAMS,
} from '../../local/prerequisites';
import { issueWithClient } from '../support/acme-flow';
import { freeTcpPort, startTestPebble, type TestPebble } from '../support/pebble-fixture';

/** GET trusting only `ca` (when given). */
function fetchText(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** A plain TCP listener on 127.0.0.1 that drops every connection. */
function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('Pebble for local mode', () => {
  let pebble: TestPebble;
  // Nothing listens there: challenge validation is switched off for this suite.
  let dnsServer: string;

  beforeAll(async () => {
    dnsServer = `127.0.0.1:${await freeTcpPort()}`;
    pebble = await startTestPebble({ dnsServer, env: { PEBBLE_VA_ALWAYS_VALID: '1' } });
  });

  afterAll(async () => {
    await pebble?.stop();
  });

  it('answers its ACME directory over TLS to a client that trusts caBundleFile', async () => {
    expect(pebble.directoryUrl).toBe(`https://127.0.0.1:${pebble.port}/dir`);
    const ca = readFileSync(pebble.caBundleFile, 'utf8');
    const answer = await fetchText(pebble.directoryUrl, ca);
    expect(answer.status).toBe(200);
    const directory = JSON.parse(answer.body) as Record<string, unknown>;
    for (const resource of ['newNonce', 'newAccount', 'newOrder', 'revokeCert']) {
      expect(String(directory[resource])).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${pebble.port}/`));
    }
    expect(readFileSync(pebble.logFile, 'utf8')).toContain(
      `Using custom DNS resolver for ACME challenges: ${dnsServer}`,
    );
  });

  it('is not trusted by a client that does not trust caBundleFile', async () => {
    await expect(fetchText(pebble.directoryUrl)).rejects.toThrow(/self[- ]signed|unable to verify/i);
  });

  it('serves the root CA that signs issued chains', async () => {
    const rootPem = await pebble.rootCertificatePem();
    const root = new X509Certificate(rootPem);
    expect(root.getExtension(BasicConstraintsExtension)?.ca).toBe(true);
    expect(root.subject).toBe(root.issuer);
    const intermediate = new X509Certificate(await pebble.intermediateCertificatePem());
    expect(intermediate.issuer).toBe(root.subject);
    expect(await intermediate.verify({ publicKey: root.publicKey, signatureOnly: true })).toBe(true);
  });

  it('issues a certificate that inspects, verifies to the root, and stores', async () => {
    const ca = readFileSync(pebble.caBundleFile, 'utf8');
    const work = mkdtempSync(join(tmpdir(), 'certflow-pebble-issue-'));
    try {
      const client = new AcmeClient({
        directoryUrl: pebble.directoryUrl,
        http: new AcmeHttp(nodeHttpsTransport, { ca }),
        accountKey: new AccountKey(await createAccountKeyPem()),
      });
      await client.newAccount({ termsOfServiceAgreed: true });
      const issued = await issueWithClient(client, ['www.example.test', 'example.test']);
      const fullchain = issued.fullchainPem;
      const [leaf, ...chain] = splitPemChain(fullchain);
      if (!leaf) throw new Error('Pebble returned no certificate');
      const facts = inspectCertificate(leaf);
      expect([...facts.domains].sort()).toEqual(['example.test', 'www.example.test']);
      expect(facts.keyType).toBe('ecdsa-p256');
      expect(facts.issuer).toMatch(/^Pebble Intermediate CA/);
      expect(facts.ariCertId).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      const lifetimeDays = (Date.parse(facts.notAfter) - Date.parse(facts.notBefore)) / 86_400_000;
      expect(Math.round(lifetimeDays)).toBe(90);

      // The chain verifies to the root from the management interface.
      writeFileSync(join(work, 'root.pem'), await pebble.rootCertificatePem());
      writeFileSync(join(work, 'chain.pem'), chain.join(''));
      writeFileSync(join(work, 'leaf.pem'), leaf);
      const verified = execFileSync(
        'openssl',
        ['verify', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', 'leaf.pem'],
        { cwd: work, encoding: 'utf8' },
      );
      expect(verified.trim()).toBe('leaf.pem: OK');

      const store = new LocalDirectoryStore({ directory: join(work, 'store') });
      const metadata = {
        name: 'example-test',
        domains: facts.domains,
        keyType: 'ecdsa-p256' as const,
        serial: facts.serial,
        issuer: facts.issuer,
        notBefore: facts.notBefore,
        notAfter: facts.notAfter,
        ariCertId: facts.ariCertId,
        storedAt: new Date().toISOString(),
      };
      await store.put({
        metadata,
        certificatePem: leaf,
        chainPem: chain.join(''),
        fullchainPem: fullchain,
        privateKeyPem: issued.keyPem,
      });
      expect(await store.current('example-test')).toEqual({ status: 'healthy', metadata });
      // Pebble's own serial lookup agrees with the serial we recorded.
      const status = await fetchText(`${pebble.managementUrl}/cert-status-by-serial/${facts.serial}`, ca);
      expect(status.status).toBe(200);
      expect(JSON.parse(status.body)).toMatchObject({ Status: 'Valid' });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('Pebble lifecycle', () => {
  it('frees its ports when stopped, and stop() is idempotent', async () => {
    const pebble = await startTestPebble({ dnsServer: '127.0.0.1:53' });
    await pebble.stop();
    await pebble.stop();
    const acmeListener = await listen(pebble.port);
    const managementListener = await listen(pebble.managementPort);
    await close(acmeListener);
    await close(managementListener);
  });

  it('reports a port in use with the tail of its log, and leaves nothing running', async () => {
    const busy = await listen(0);
    const address = busy.address();
    const busyPort = typeof address === 'object' && address ? address.port : 0;
    const dir = mkdtempSync(join(tmpdir(), 'certflow-pebble-busy-'));
    try {
      const failure = startPebble({
        directory: dir,
        port: busyPort,
        managementPort: await freeTcpPort(),
        dnsServer: '127.0.0.1:53',
      });
      await expect(failure).rejects.toThrow(LocalServerError);
      await expect(failure).rejects.toThrow(/address already in use/);
      await expect(failure).rejects.toThrow(/Last lines of .*pebble\.log/);
      // pgrep exits 1 when no process matches.
      expect(spawnSync('pgrep', ['-f', join(dir, 'pebble-config.json')]).status).toBe(1);
    } finally {
      await close(busy);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says how to install pebble when it is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '';
    try {
      const failure = startPebble({
        directory: tmpdir(),
        port: 1,
        managementPort: 2,
        dnsServer: '127.0.0.1:53',
      });
      await expect(failure).rejects.toThrow(LocalServerError);
      await expect(failure).rejects.toThrow('sudo apt-get install -y pebble bind9 bind9-dnsutils');
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('local prerequisites', () => {
  it('finds pebble, named and dig (named in sbin even if PATH lacks it)', async () => {
    await expect(ensureLocalPrerequisites({ install: false, log: () => undefined })).resolves.toBeUndefined();
    expect(findExecutable('named')).toMatch(/\/named$/);
  });

  it('names what is missing and the exact install command when it may not install', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'certflow-empty-path-'));
    const log: string[] = [];
    try {
      const failure = ensureLocalPrerequisites({
        install: false,
        log: (l) => log.push(l),
        searchPath: [empty],
      });
      await expect(failure).rejects.toThrow(LocalServerError);
      await expect(failure).rejects.toThrow('pebble, named, dig are not installed');
      await expect(failure).rejects.toThrow(INSTALL_COMMAND);
      expect(INSTALL_COMMAND).toBe('sudo apt-get install -y pebble bind9 bind9-dnsutils');
      expect(log).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('names the Knot and PowerDNS packages the rfc2136 tests need when they are missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'certflow-empty-path-'));
    try {
      const failure = ensureLocalPrerequisites({
        install: false,
        log: () => undefined,
        searchPath: [empty],
        programs: RFC2136_TEST_PROGRAMS,
      });
      await expect(failure).rejects.toThrow(
        'missing prerequisites: knotd, keymgr, kdig, pdns_server, pdnsutil, sqlite3 are not installed. Install them with: sudo apt-get install -y knot knot-dnsutils pdns-server pdns-backend-sqlite3 sqlite3',
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
