import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { LocalPendingKeyStore } from '../../lambdas/adapters/pending-key/local-pending-key-store';
import { SecretsManagerPendingKeyStore } from '../../lambdas/adapters/pending-key/secrets-manager-pending-key-store';
import { PendingKeyStoreError } from '../../lambdas/core/errors';
import { installSecretsFake, resourceExists } from '../support/secrets-manager-fake';

const ORDER = 'https://acme.example/order/1';
const OTHER_ORDER = 'https://acme.example/order/2';
const KMS = 'alias/certflow-secrets';
const TAGS = [{ Key: 'certflow:managed-by', Value: 'certflow' }];

function keyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

describe('LocalPendingKeyStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'certflow-pending-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the key of one order in a 0600 file, and only for that order', async () => {
    const store = new LocalPendingKeyStore({ directory: dir });
    const key = keyPem();
    await expect(store.load('www', ORDER)).resolves.toBeUndefined();

    await store.save('www', ORDER, key);

    await expect(store.load('www', ORDER)).resolves.toBe(key);
    await expect(store.load('www', OTHER_ORDER)).resolves.toBeUndefined();
    await expect(new LocalPendingKeyStore({ directory: dir }).load('www', ORDER)).resolves.toBe(key);
    expect(statSync(store.fileFor('www')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'pending-keys')).mode & 0o777).toBe(0o700);
    // no temporary file is left behind
    expect(readdirSync(join(dir, 'pending-keys'))).toEqual(['www.json']);
  });

  it('replaces the key of an older order, and clears it (clearing twice is fine)', async () => {
    const store = new LocalPendingKeyStore({ directory: dir });
    const first = keyPem();
    const second = keyPem();
    await store.save('www', ORDER, first);
    await store.save('www', OTHER_ORDER, second);
    await expect(store.load('www', ORDER)).resolves.toBeUndefined();
    await expect(store.load('www', OTHER_ORDER)).resolves.toBe(second);

    await store.clear('www');
    await store.clear('www');
    await expect(store.load('www', OTHER_ORDER)).resolves.toBeUndefined();
  });

  it('reports a corrupt file by name without quoting it', async () => {
    const store = new LocalPendingKeyStore({ directory: dir });
    await store.save('www', ORDER, keyPem());
    const file = store.fileFor('www');
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 60));

    const error = await store.load('www', ORDER).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PendingKeyStoreError);
    expect((error as Error).message).toBe(`the pending key file ${file} is not valid JSON; delete it`);
  });

  it('names the OS error and path when it cannot write', async () => {
    writeFileSync(join(dir, 'pending-keys'), 'a file where the directory should be');
    const store = new LocalPendingKeyStore({ directory: dir });
    const error = await store.save('www', ORDER, keyPem()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PendingKeyStoreError);
    expect((error as Error).message).toBe(
      `cannot save the pending key of www to ${join(dir, 'pending-keys', 'www.json')} (EEXIST)`,
    );
    expect((error as Error).message).not.toContain('PRIVATE KEY');
  });

  it('refuses a certificate name that could escape its directory', () => {
    expect(() => new LocalPendingKeyStore({ directory: dir }).fileFor('../x')).toThrow(PendingKeyStoreError);
  });
});

describe('SecretsManagerPendingKeyStore', () => {
  const sm = mockClient(SecretsManagerClient);
  const NAME = 'certflow/prod/pending-key/www';
  const store = (): SecretsManagerPendingKeyStore =>
    new SecretsManagerPendingKeyStore({
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
      namePrefix: 'certflow/prod',
      kmsKeyId: KMS,
      tags: TAGS,
    });
  beforeEach(() => sm.reset());

  it('creates the secret on first use (KMS key and tags from the options), then puts new values', async () => {
    const secrets = installSecretsFake(sm);
    const first = keyPem();
    await expect(store().load('www', ORDER)).resolves.toBeUndefined();

    await store().save('www', ORDER, first);

    expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, { Name: NAME, KmsKeyId: KMS, Tags: TAGS });
    await expect(store().load('www', ORDER)).resolves.toBe(first);
    await expect(store().load('www', OTHER_ORDER)).resolves.toBeUndefined();

    const second = keyPem();
    await store().save('www', OTHER_ORDER, second);
    expect(sm).toHaveReceivedCommandTimes(CreateSecretCommand, 1);
    expect(sm).toHaveReceivedCommandWith(PutSecretValueCommand, { SecretId: NAME });
    expect(secrets.get(NAME)?.values).toHaveLength(2);
    await expect(store().load('www', OTHER_ORDER)).resolves.toBe(second);
  });

  it('clears by writing a value without the key; a secret never created stays uncreated', async () => {
    const secrets = installSecretsFake(sm);
    await store().clear('www');
    expect(sm).not.toHaveReceivedCommand(CreateSecretCommand);

    await store().save('www', ORDER, keyPem());
    await store().clear('www');

    await expect(store().load('www', ORDER)).resolves.toBeUndefined();
    expect(secrets.get(NAME)?.values.at(-1)).toBe('{"cleared":true}');
  });

  it('when CreateSecret loses a race (ResourceExistsException), puts its value as a new version', async () => {
    const secrets = installSecretsFake(sm);
    const key = keyPem();
    // The secret appears between our PutSecretValue (not found) and CreateSecret.
    sm.on(CreateSecretCommand).callsFakeOnce(async () => {
      secrets.set(NAME, { name: NAME, arn: 'arn', tags: [], values: ['{"cleared":true}'] });
      throw resourceExists();
    });

    await store().save('www', ORDER, key);

    await expect(store().load('www', ORDER)).resolves.toBe(key);
    expect(sm).toHaveReceivedCommandTimes(PutSecretValueCommand, 2);
  });

  it('names the call and the secret when the SDK fails, never the key', async () => {
    installSecretsFake(sm);
    const throttled = new SecretsManagerServiceException({
      name: 'ThrottlingException',
      $fault: 'client',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 },
    });
    sm.on(PutSecretValueCommand).rejects(throttled);

    const error = await store()
      .save('www', ORDER, keyPem())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PendingKeyStoreError);
    expect((error as Error).message).toBe(
      `secretsmanager: PutSecretValue on the pending key secret ${NAME} failed: ThrottlingException: Rate exceeded`,
    );
    expect((error as Error).cause).toBe(throttled);
  });
});
