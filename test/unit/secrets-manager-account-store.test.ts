import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SecretsManagerAccountStore } from '../../lambdas/adapters/account/secrets-manager-account-store';
import { AccountStoreError } from '../../lambdas/core/errors';
import type { AcmeAccount } from '../../lambdas/core/ports';
import { installSecretsFake } from '../support/secrets-manager-fake';

const LE = 'https://acme-v02.api.letsencrypt.org/directory';
const STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
const KMS = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const TAGS = [{ Key: 'certflow:managed-by', Value: 'certflow' }];
const sm = mockClient(SecretsManagerClient);

const store = (): SecretsManagerAccountStore =>
  new SecretsManagerAccountStore({
    client: new SecretsManagerClient({ region: 'eu-west-1' }),
    namePrefix: 'certflow/prod',
    kmsKeyId: KMS,
    tags: TAGS,
  });

function account(directoryUrl: string, accountUrl?: string): AcmeAccount {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const a: AcmeAccount = {
    directoryUrl,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  if (accountUrl) a.accountUrl = accountUrl;
  return a;
}

const nameFor = (url: string): string =>
  `certflow/prod/acme-account/${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;

beforeEach(() => sm.reset());

describe('SecretsManagerAccountStore (one secret per ACME directory, created at run time)', () => {
  it('reads a directory without a secret as "no account"', async () => {
    installSecretsFake(sm);
    await expect(store().load(LE)).resolves.toBeUndefined();
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: nameFor(LE) });
  });

  it('creates the secret on first save, named by the directory, with the KMS key and tags', async () => {
    const secrets = installSecretsFake(sm);
    const le = account(LE);

    await expect(store().saveIfAbsent(le)).resolves.toEqual(le);

    expect(store().secretName(LE)).toBe(nameFor(LE));
    expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: nameFor(LE),
      KmsKeyId: KMS,
      Tags: TAGS,
    });
    expect(secrets.get(nameFor(LE))?.kmsKeyId).toBe(KMS);
    await expect(store().load(LE)).resolves.toEqual(le);
    await expect(store().load(STAGING)).resolves.toBeUndefined();
  });

  it('when two runs race, the second gets ResourceExistsException and reads the winner', async () => {
    installSecretsFake(sm);
    const first = account(LE);
    const second = account(LE);

    const [a, b] = await Promise.all([store().saveIfAbsent(first), store().saveIfAbsent(second)]);

    expect(a).toEqual(first);
    expect(b).toEqual(first);
    expect(sm).toHaveReceivedCommandTimes(CreateSecretCommand, 2);
    await expect(store().load(LE)).resolves.toEqual(first);
  });

  it('records the account URL with PutSecretValue on the same secret', async () => {
    const secrets = installSecretsFake(sm);
    const le = account(LE);
    await store().saveIfAbsent(le);

    const registered = { ...le, accountUrl: 'https://acme-v02.api.letsencrypt.org/acme/acct/123' };
    await store().save(registered);

    expect(sm).toHaveReceivedCommandWith(PutSecretValueCommand, { SecretId: nameFor(LE) });
    expect(secrets.get(nameFor(LE))?.values).toHaveLength(2);
    await expect(store().load(LE)).resolves.toEqual(registered);
  });

  it('translates SDK failures, naming the call and the secret, never the key', async () => {
    installSecretsFake(sm);
    const denied = new SecretsManagerServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      message: 'not authorized to perform secretsmanager:CreateSecret',
      $metadata: { httpStatusCode: 400 },
    });
    sm.on(CreateSecretCommand).rejects(denied);
    const le = account(LE);

    const error = await store()
      .saveIfAbsent(le)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AccountStoreError);
    expect((error as Error).message).toBe(
      `secretsmanager: CreateSecret on the ACME account secret ${nameFor(LE)} failed: AccessDeniedException: not authorized to perform secretsmanager:CreateSecret`,
    );
    expect((error as Error).message).not.toContain('PRIVATE KEY');
    expect((error as Error).cause).toBe(denied);
  });

  it('refuses a secret that holds another directory, or no account, without quoting it', async () => {
    const secrets = installSecretsFake(sm);
    const staging = account(STAGING);
    secrets.set(nameFor(LE), {
      name: nameFor(LE),
      arn: 'arn',
      tags: [],
      values: [JSON.stringify(staging)],
    });
    await expect(store().load(LE)).rejects.toThrow(`belongs to ${STAGING}, not ${LE}`);
    secrets.set(nameFor(LE), { name: nameFor(LE), arn: 'arn', tags: [], values: ['{"keyPem": "-----BEGIN'] });
    const error = await store()
      .load(LE)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccountStoreError);
    expect((error as Error).message).toContain('delete it so certflow creates the account again');
    expect((error as Error).message).not.toContain('BEGIN');
  });

  it('refuses an unusable name prefix and an account without a key, before any call', async () => {
    expect(
      () =>
        new SecretsManagerAccountStore({
          client: new SecretsManagerClient({ region: 'eu-west-1' }),
          namePrefix: 'certflow/',
        }),
    ).toThrow('the secret name prefix "certflow/" is unusable: it must not start or end with "/"');
    await expect(store().saveIfAbsent({ directoryUrl: LE, keyPem: '' })).rejects.toThrow(AccountStoreError);
    expect(sm.calls()).toHaveLength(0);
  });
});
