import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAccount } from '../../lambdas/core/acme/account';
import { acmeClient } from '../../lambdas/core/acme/client';
import { createPrivateKeyPem } from '../../lambdas/core/certificate/keys';
import { CertificateStoreError } from '../../lambdas/core/errors';
import type { AcmeAccount } from '../../lambdas/core/ports';
import type { CertificateItem } from '../../lambdas/core/state';
import type { StepContext } from '../../lambdas/core/steps/context';
import { finalizeAndStore } from '../../lambdas/core/steps/finalize-and-store';
import { ENV } from '../../lambdas/runtime/env';
import { buildStepContext } from '../../lambdas/runtime/handler';
import { freeTcpPort, startTestPebble, type TestPebble } from '../support/pebble-fixture';
import { STEP_WIRINGS } from '../support/step-wirings';

/**
 * FinalizeAndStore run more than once for one order, through the local wiring
 * (pending keys in the state directory, certificates in the local store) against a real Pebble
 * that validates every challenge.
 */
describe('FinalizeAndStore, repeated for one order', () => {
  let pebble: TestPebble;
  let work: string;
  let account: AcmeAccount;
  let ctx: StepContext;
  const saved = { ...process.env };
  const domains = ['www.example.test', 'example.test'];
  const certs = () => join(work, 'certs');
  const live = () => join(certs(), 'live', 'www');
  const versions = () => readdirSync(join(certs(), 'archive', 'www')).filter((v) => /^\d+$/.test(v));
  const logText = () => readFileSync(join(work, 'handler.log'), 'utf8');

  beforeAll(async () => {
    pebble = await startTestPebble({
      dnsServer: `127.0.0.1:${await freeTcpPort()}`,
      env: { PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_AUTHZREUSE: '0' },
    });
  });
  afterAll(async () => {
    process.env = saved;
    await pebble?.stop();
  });

  beforeEach(async () => {
    work = mkdtempSync(join(tmpdir(), 'certflow-finalize-'));
    process.env = { ...saved };
    process.env[ENV.mode] = 'local';
    process.env[ENV.stateDirectory] = join(work, 'state');
    process.env[ENV.logFile] = join(work, 'handler.log');
    process.env[ENV.config] = JSON.stringify({
      acme: {
        directory: pebble.directoryUrl,
        email: 'ops@example.test',
        termsOfServiceAgreed: true,
        caBundleFile: pebble.caBundleFile,
      },
      delegation: { zone: 'acme.example.net', domains: ['example.test'], nameservers: ['127.0.0.1:9'] },
      dns: {
        provider: 'rfc2136',
        server: '127.0.0.1:9',
        tsig: { name: 'unused', algorithm: 'hmac-sha256', secretFile: join(work, 'unused.key') },
      },
      storage: { localDirectory: certs(), defaultStores: ['local'] },
      certificates: [{ name: 'www', domains }],
    });
    delete process.env[ENV.configFile];
    ctx = buildStepContext('FinalizeAndStore', STEP_WIRINGS.FinalizeAndStore);
    account = await ensureAccount({
      directoryUrl: pebble.directoryUrl,
      email: 'ops@example.test',
      store: ctx.accounts(),
      logger: ctx.logger,
    });
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  /** An order whose challenges were answered, now `ready` (what CheckOrder hands on). */
  async function readyOrder(): Promise<CertificateItem> {
    const client = acmeClient(account);
    const { url, order } = await client.newOrder(domains);
    for (const authzUrl of order.authorizations) {
      const authz = await client.authorization(authzUrl);
      const challenge = authz.challenges.find((c) => c.type === 'dns-01');
      if (challenge) await client.respondToChallenge(challenge.url);
    }
    const ready = await client.waitForOrder(url, { while: ['pending'], intervalMs: 100 });
    expect(ready.status).toBe('ready');
    const accountUrl = account.accountUrl as string;
    return {
      certificate: 'www',
      runId: randomUUID(),
      accountUrl,
      timing: {
        propagationIntervalSeconds: 1,
        propagationMaxChecks: 1,
        orderIntervalSeconds: 1,
        orderMaxChecks: 1,
      },
      order: { url, accountUrl, domains, keyType: 'ecdsa-p256', records: [] },
    };
  }

  it('run twice: one certificate, one key, stored once', async () => {
    const item = await readyOrder();

    const first = await finalizeAndStore(item, ctx);
    const key = readFileSync(join(live(), 'privkey.pem'), 'utf8');
    const cert = readFileSync(join(live(), 'cert.pem'), 'utf8');
    const second = await finalizeAndStore(item, ctx);

    expect(second).toEqual(first);
    expect(versions()).toEqual(['1']);
    expect(readFileSync(join(live(), 'privkey.pem'), 'utf8')).toBe(key);
    expect(readFileSync(join(live(), 'cert.pem'), 'utf8')).toBe(cert);
    expect(logText()).toContain('order already finalized by an earlier attempt; downloading its certificate');
  });

  it('after a failure past finalize, the retry downloads the same certificate with the same key', async () => {
    const item = await readyOrder();
    // The store cannot be written: a regular file stands where its directory should be.
    writeFileSync(certs(), 'not a directory');
    await expect(finalizeAndStore(item, ctx)).rejects.toBeInstanceOf(CertificateStoreError);
    const order = await acmeClient(account).order(item.order?.url ?? '');
    expect(order.status).toBe('valid');
    const pendingKey = await ctx.pendingKeys().load('www', item.order?.url ?? '');
    expect(pendingKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    rmSync(certs());
    const issued = await finalizeAndStore(item, ctx);

    expect(readFileSync(join(live(), 'privkey.pem'), 'utf8')).toBe(pendingKey);
    const download = await acmeClient(account).certificate(order.certificate ?? '');
    expect(readFileSync(join(live(), 'fullchain.pem'), 'utf8')).toBe(download);
    expect(issued.serial).toBeTruthy();
    expect(versions()).toEqual(['1']);
  });

  it('reuses the key an interrupted attempt saved before finalizing', async () => {
    const item = await readyOrder();
    const keyPem = await createPrivateKeyPem('ecdsa-p256');
    await ctx.pendingKeys().save('www', item.order?.url ?? '', keyPem);

    await finalizeAndStore(item, ctx);

    expect(readFileSync(join(live(), 'privkey.pem'), 'utf8')).toBe(keyPem);
    expect(logText()).toContain('reusing the key made for this order by an earlier attempt');
  });

  it('keeps the key out of the output and the log, and in a 0600 file of the state directory', async () => {
    const item = await readyOrder();
    const issued = await finalizeAndStore(item, ctx);
    const key = readFileSync(join(live(), 'privkey.pem'), 'utf8');
    const body = key.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));

    for (const line of body) {
      expect(JSON.stringify(issued)).not.toContain(line);
      expect(logText()).not.toContain(line);
    }
    const pendingFile = join(work, 'state', 'pending-keys', 'www.json');
    expect(existsSync(pendingFile)).toBe(true);
    expect(statSync(pendingFile).mode & 0o777).toBe(0o600);
  });
});
