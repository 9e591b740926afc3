import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileAccountStore } from '../../lambdas/adapters/account/local-file-account-store';
import { ensureAccount } from '../../lambdas/core/acme/account';
import { AcmeProblemError, AcmeRequestError } from '../../lambdas/core/errors';
import { JsonLogger } from '../../lambdas/core/logger';
import { configureAcmeTransport } from '../../lambdas/runtime/wiring/accounts';
import { freeTcpPort, startTestPebble, type TestPebble } from '../support/pebble-fixture';

/** The ACME account against a real Pebble that requires External Account Binding (RFC 8555 §7.3.4). */
describe('ACME account', () => {
  let pebble: TestPebble;
  const hmacKey = randomBytes(32).toString('base64url');
  const logs: string[] = [];
  const logger = new JsonLogger((l) => logs.push(l));

  beforeAll(async () => {
    // dns-01 is not exercised here; the DNS server address only has to be well-formed.
    pebble = await startTestPebble({
      dnsServer: '127.0.0.1:9',
      externalAccountMacKeys: { 'kid-ops': hmacKey },
    });
    configureAcmeTransport({ caBundleFile: pebble.caBundleFile });
  });
  afterAll(async () => {
    await pebble?.stop();
  });

  it('is refused without EAB when the CA requires it, and nothing is saved', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'certflow-acct-'));
    const store = new LocalFileAccountStore({ directory });
    const attempt = ensureAccount({
      directoryUrl: pebble.directoryUrl,
      email: 'ops@example.test',
      store,
      logger,
    });
    // a problem a retry cannot fix: its own error name (not retried by the state machine), with the CA's document
    await expect(attempt).rejects.toBeInstanceOf(AcmeProblemError);
    await expect(attempt).rejects.toMatchObject({
      name: 'AcmeProblemError',
      problem: { type: 'urn:ietf:params:acme:error:externalAccountRequired' },
    });
    await expect(attempt).rejects.toThrow(/newAccount failed: .*'externalAccountBinding' field/);
    expect(await store.load(pebble.directoryUrl)).toBeUndefined();
  });

  it('registers with EAB, creates the key once and reuses it', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'certflow-acct-'));
    const store = new LocalFileAccountStore({ directory });
    const eab = { kid: 'kid-ops', hmacKey };
    const first = await ensureAccount({
      directoryUrl: pebble.directoryUrl,
      email: 'ops@example.test',
      store,
      eab,
      logger,
    });
    expect(first.accountUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
    const saved = await store.load(pebble.directoryUrl);
    expect(saved).toEqual({
      directoryUrl: pebble.directoryUrl,
      keyPem: first.keyPem,
      accountUrl: first.accountUrl,
    });
    const second = await ensureAccount({
      directoryUrl: pebble.directoryUrl,
      email: 'ops@example.test',
      store,
      eab,
      logger,
    });
    expect(second.keyPem).toBe(first.keyPem);
    expect(second.accountUrl).toBe(first.accountUrl);
    // neither the account key nor the HMAC key reaches the log
    const text = logs.join('\n');
    expect(text).not.toContain(hmacKey);
    expect(text).not.toMatch(/PRIVATE KEY/);
    expect(readFileSync(store.fileFor(pebble.directoryUrl), 'utf8')).toContain(first.accountUrl as string);
  });

  it('is refused with the CA problem document when the EAB HMAC key is wrong', async () => {
    const store = new LocalFileAccountStore({ directory: mkdtempSync(join(tmpdir(), 'certflow-acct-')) });
    const wrong = randomBytes(32).toString('base64url');
    const attempt = ensureAccount({
      directoryUrl: pebble.directoryUrl,
      email: 'ops@example.test',
      store,
      eab: { kid: 'kid-ops', hmacKey: wrong },
      logger,
    });
    await expect(attempt).rejects.toBeInstanceOf(AcmeProblemError);
    await expect(attempt).rejects.toMatchObject({
      problem: { type: 'urn:ietf:params:acme:error:unauthorized', status: 403 },
    });
    await expect(attempt).rejects.toThrow(
      /^ACME newAccount failed: POST https:\/\/127\.0\.0\.1:\d+\/sign-me-up answered HTTP 403( after \d+ attempts \(\d+ badNonce\))?: urn:ietf:params:acme:error:unauthorized: external account binding JWS verification error/,
    );
    expect(await store.load(pebble.directoryUrl)).toBeUndefined();
    expect(logs.join('\n')).not.toContain(wrong);
  });

  it('two runs racing on a fresh store end with one stored account, both using its key and URL', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'certflow-acct-race-'));
    const eab = { kid: 'kid-ops', hmacKey };
    const run = () =>
      ensureAccount({
        directoryUrl: pebble.directoryUrl,
        email: 'ops@example.test',
        // each run has its own store object over the same directory, as two processes would
        store: new LocalFileAccountStore({ directory }),
        eab,
        logger,
      });

    const [a, b] = await Promise.all([run(), run()]);

    expect(a.accountUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
    expect(b.accountUrl).toBe(a.accountUrl);
    expect(b.keyPem).toBe(a.keyPem);
    const stored = await new LocalFileAccountStore({ directory }).load(pebble.directoryUrl);
    expect(stored).toEqual({ directoryUrl: pebble.directoryUrl, keyPem: a.keyPem, accountUrl: a.accountUrl });
    expect(readdirSync(join(directory, 'accounts'))).toHaveLength(1);
    expect(logs.join('\n')).toContain('another run stored an ACME account first; using it');
  });

  it('fails at once, naming the directory URL and the cause, when the CA is down', async () => {
    const directoryUrl = `https://127.0.0.1:${await freeTcpPort()}/dir`;
    const store = new LocalFileAccountStore({ directory: mkdtempSync(join(tmpdir(), 'certflow-acct-')) });
    const attempt = ensureAccount({ directoryUrl, email: 'ops@example.test', store, logger });
    await expect(attempt).rejects.toBeInstanceOf(AcmeRequestError);
    await expect(attempt).rejects.toThrow(`ACME directory failed: GET ${directoryUrl}: ECONNREFUSED`);
  });
});
