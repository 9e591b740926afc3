import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileAccountStore } from '../../lambdas/adapters/account/local-file-account-store';
import { ensureAccount } from '../../lambdas/core/acme/account';
import { trustCaBundle } from '../../lambdas/core/acme/client';
import { AcmeProblemError } from '../../lambdas/core/errors';
import { JsonLogger } from '../../lambdas/core/logger';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';

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
    trustCaBundle(pebble.caBundleFile);
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
});
