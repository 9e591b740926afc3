import { generateKeyPairSync } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SecretsManagerAccountStore } from '../../lambdas/adapters/account/secrets-manager-account-store';
import { AccountStoreError } from '../../lambdas/core/errors';
import type { AcmeAccount } from '../../lambdas/core/ports';
import {
  accessDenied,
  decryptionFailure,
  getSecretValueResponse,
  putSecretValueResponse,
  resourceNotFound,
} from '../fixtures/aws/secrets-manager';

// The AWS CLI describe-secret example's ARN shape (6-character suffix), adapted to this secret.
const NAME = 'certflow/_acme-account';
const ARN = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${NAME}-Ca8JGt`;
const LE = 'https://acme-v02.api.letsencrypt.org/directory';
const STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
const sm = mockClient(SecretsManagerClient);

const store = (): SecretsManagerAccountStore =>
  new SecretsManagerAccountStore({
    client: new SecretsManagerClient({ region: 'eu-west-1' }),
    secretArn: ARN,
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

/**
 * A secret whose AWSCURRENT value is whatever was last put (none at first: GetSecretValue then
 * answers ResourceNotFoundException). Answers are AWS's examples (test/fixtures/aws/secrets-manager.ts).
 */
function secretStartingWith(initial: string | undefined): { value: () => string | undefined } {
  let current = initial;
  sm.on(GetSecretValueCommand, { SecretId: ARN }).callsFake(async () => {
    if (current === undefined) {
      throw resourceNotFound();
    }
    return getSecretValueResponse({ arn: ARN, name: NAME, secretString: current });
  });
  sm.on(PutSecretValueCommand, { SecretId: ARN }).callsFake(async (input: PutSecretValueCommandInput) => {
    current = input.SecretString;
    return putSecretValueResponse({ arn: ARN, name: NAME });
  });
  return { value: () => current };
}

beforeEach(() => sm.reset());

describe('SecretsManagerAccountStore', () => {
  it.each([
    ['no value yet (no AWSCURRENT)', undefined],
    ['an empty value', ''],
    ['an empty object', '{}'],
    ['a generated placeholder', 'x7#Qp!placeholder-not-json'],
  ])('reads %s as "no account"', async (_what, initial) => {
    secretStartingWith(initial);
    await expect(store().load(LE)).resolves.toBeUndefined();
  });

  it('saves an account and loads it back, keyed by directory URL', async () => {
    const secret = secretStartingWith(undefined);
    const le = account(LE, 'https://acme-v02.api.letsencrypt.org/acme/acct/123');

    await store().save(le);

    await expect(store().load(LE)).resolves.toEqual(le);
    await expect(store().load(STAGING)).resolves.toBeUndefined();
    expect(JSON.parse(secret.value() ?? '')).toEqual({ [LE]: le });
  });

  it("keeps the other directories' accounts when saving one", async () => {
    secretStartingWith(undefined);
    const staging = account(STAGING, 'https://acme-staging-v02.api.letsencrypt.org/acme/acct/9');
    const le = account(LE);
    await store().save(staging);
    await store().save(le);

    await expect(store().load(STAGING)).resolves.toEqual(staging);
    await expect(store().load(LE)).resolves.toEqual(le);
  });

  it('translates SDK failures without the key in the message', async () => {
    secretStartingWith(undefined);
    const denied = accessDenied();
    sm.on(PutSecretValueCommand).rejects(denied);
    const le = account(LE);

    const error = await store()
      .save(le)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AccountStoreError);
    expect((error as Error).message).toContain('PutSecretValue');
    expect((error as Error).message).toContain(ARN);
    expect((error as Error).message).not.toContain('PRIVATE KEY');
    expect((error as Error).cause).toBe(denied);
  });

  it('translates a read failure other than "no value yet"', async () => {
    sm.on(GetSecretValueCommand).rejects(decryptionFailure());
    await expect(store().load(LE)).rejects.toThrow(
      /^secretsmanager: GetSecretValue .* DecryptionFailure: Secrets Manager can't decrypt the protected secret text using the provided KMS key\.$/,
    );
  });

  it('does not leak an unparsable secret value through an error', async () => {
    secretStartingWith('{"https://x": "-----BEGIN PRIVATE KEY-----');
    await expect(store().load('https://x')).resolves.toBeUndefined();
  });

  it('refuses to save an account without a key, before any call', async () => {
    await expect(store().save({ directoryUrl: LE, keyPem: '' })).rejects.toThrow(AccountStoreError);
    expect(sm.calls()).toHaveLength(0);
  });
});
