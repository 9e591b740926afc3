import { createHash, generateKeyPairSync } from 'node:crypto';
import { promises as fsp, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileAccountStore } from '../../lambdas/adapters/account/local-file-account-store';
import { AccountStoreError } from '../../lambdas/core/errors';

const PEBBLE = 'https://127.0.0.1:14000/dir';
const STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

function accountKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
}

function hash16(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

describe('LocalFileAccountStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'certflow-accounts-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips an account, in a 0600 file named after the directory URL', async () => {
    const store = new LocalFileAccountStore({ directory: dir });
    expect(await store.load(PEBBLE)).toBeUndefined();

    const account = {
      directoryUrl: PEBBLE,
      keyPem: accountKey(),
      accountUrl: 'https://127.0.0.1:14000/my-account/1',
    };
    await store.save(account);

    const file = join(dir, 'accounts', `${hash16(PEBBLE)}.json`);
    expect(store.fileFor(PEBBLE)).toBe(file);
    expect((await fsp.stat(file)).mode & 0o777).toBe(0o600);
    expect((await fsp.stat(join(dir, 'accounts'))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await fsp.readFile(file, 'utf8'))).toEqual(account);
    // A fresh instance (a new process) reads the same account.
    expect(await new LocalFileAccountStore({ directory: dir }).load(PEBBLE)).toEqual(account);
  });

  it('keeps one file per directory URL, and replaces a saved account without leftovers', async () => {
    const store = new LocalFileAccountStore({ directory: dir });
    const first = { directoryUrl: PEBBLE, keyPem: accountKey() };
    const other = { directoryUrl: STAGING, keyPem: accountKey(), accountUrl: 'https://staging/acct/9' };
    await store.save(first);
    await store.save(other);
    expect((await fsp.readdir(join(dir, 'accounts'))).sort()).toEqual(
      [`${hash16(PEBBLE)}.json`, `${hash16(STAGING)}.json`].sort(),
    );
    expect(await store.load(PEBBLE)).toEqual(first);
    expect(await store.load(STAGING)).toEqual(other);

    // Registering gives the account a URL: save again.
    const registered = { ...first, accountUrl: 'https://127.0.0.1:14000/my-account/2' };
    await store.save(registered);
    expect(await store.load(PEBBLE)).toEqual(registered);
    expect(await fsp.readdir(join(dir, 'accounts'))).toHaveLength(2);
  });

  it('reports a corrupt account file by name, never quoting the key', async () => {
    const store = new LocalFileAccountStore({ directory: dir });
    const keyPem = accountKey();
    await store.save({ directoryUrl: PEBBLE, keyPem });
    const file = store.fileFor(PEBBLE);

    // Truncated in the middle of the key.
    const full = await fsp.readFile(file, 'utf8');
    await fsp.writeFile(file, full.slice(0, full.indexOf('PRIVATE KEY') + 40));
    const error: unknown = await store.load(PEBBLE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccountStoreError);
    expect((error as Error).message).toContain(file);
    const everything = `${String(error)} ${String((error as Error).cause)} ${JSON.stringify(error)}`;
    expect(everything).not.toContain('PRIVATE KEY');
    expect(everything).not.toContain(keyPem.split('\n')[1]);

    await fsp.writeFile(file, JSON.stringify({ directoryUrl: PEBBLE, key: keyPem }));
    const shapeError: unknown = await store.load(PEBBLE).catch((e: unknown) => e);
    expect(shapeError).toBeInstanceOf(AccountStoreError);
    expect(String(shapeError)).not.toContain('PRIVATE KEY');
  });

  it('fails to save with an AccountStoreError that does not contain the key', async () => {
    // The state directory is a file: nothing can be created under it.
    const blocked = join(dir, 'state');
    await fsp.writeFile(blocked, 'not a directory');
    const keyPem = accountKey();
    const error: unknown = await new LocalFileAccountStore({ directory: blocked })
      .save({ directoryUrl: PEBBLE, keyPem })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccountStoreError);
    expect(`${String(error)} ${String((error as Error).cause)}`).not.toContain('PRIVATE KEY');
  });
});
