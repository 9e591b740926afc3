import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AccountStoreError } from '../../core/errors';
import type { AccountStore, AcmeAccount } from '../../core/ports';
import { errorMessageOf, errorNameOf } from '../aws/retry';

/** Options of {@link SecretsManagerAccountStore}. */
export interface SecretsManagerAccountStoreOptions {
  /** Created once per cold start by the caller. */
  client: SecretsManagerClient;
  /** The secret holding the ACME account key(s); the stack creates it empty or with a placeholder. */
  secretArn: string;
}

/** The secret's JSON: one account per ACME directory URL. */
export type AccountSecretValue = Record<string, AcmeAccount>;

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;

/**
 * ACME account keys (RFC 8555 §7.3) in one Secrets Manager secret, as JSON
 * `{ "<directoryUrl>": { directoryUrl, keyPem, accountUrl } }`, so one deployment can use several
 * CAs. A secret with no value yet (no AWSCURRENT version), or a placeholder that holds no
 * accounts, reads as "no account". Saving writes a new version (the old one stays AWSPREVIOUS).
 * Errors name the secret and the call, never the key.
 */
export class SecretsManagerAccountStore implements AccountStore {
  private readonly client: SecretsManagerClient;
  private readonly secretArn: string;

  constructor(options: SecretsManagerAccountStoreOptions) {
    if (typeof options.secretArn !== 'string' || !SECRET_ARN.test(options.secretArn)) {
      throw new AccountStoreError(
        `secretsmanager: account secretArn "${String(options.secretArn)}" is not a Secrets Manager secret ARN`,
      );
    }
    this.client = options.client;
    this.secretArn = options.secretArn;
  }

  /** The account for this directory, or undefined when none was saved. */
  async load(directoryUrl: string): Promise<AcmeAccount | undefined> {
    const accounts = await this.read();
    return accounts[directoryUrl];
  }

  /** Save (add or replace) the account for its directory, keeping the other directories' accounts. */
  async save(account: AcmeAccount): Promise<void> {
    if (typeof account?.directoryUrl !== 'string' || account.directoryUrl === '') {
      throw new AccountStoreError('secretsmanager: cannot save an ACME account without its directory URL');
    }
    if (typeof account.keyPem !== 'string' || account.keyPem.trim() === '') {
      throw new AccountStoreError(
        `secretsmanager: cannot save the ACME account for ${account.directoryUrl} without its key`,
      );
    }
    const accounts = await this.read();
    const entry: AcmeAccount = { directoryUrl: account.directoryUrl, keyPem: account.keyPem };
    if (account.accountUrl !== undefined) entry.accountUrl = account.accountUrl;
    const next: AccountSecretValue = { ...accounts, [account.directoryUrl]: entry };
    try {
      await this.client.send(
        new PutSecretValueCommand({ SecretId: this.secretArn, SecretString: JSON.stringify(next) }),
      );
    } catch (error) {
      throw this.failure('PutSecretValue', error);
    }
  }

  private async read(): Promise<AccountSecretValue> {
    let text: string | undefined;
    try {
      const res = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretArn }));
      text = res.SecretString;
    } catch (error) {
      // The stack creates the secret without a value: there is no AWSCURRENT version yet.
      if (errorNameOf(error) === 'ResourceNotFoundException') return {};
      throw this.failure('GetSecretValue', error);
    }
    return parseAccounts(text);
  }

  private failure(operation: string, error: unknown): AccountStoreError {
    return new AccountStoreError(
      `secretsmanager: ${operation} on the ACME account secret ${this.secretArn} failed: ${errorNameOf(error)}: ${errorMessageOf(error)}`,
      { cause: error },
    );
  }
}

/**
 * The accounts in a secret value. A value that is not a JSON object (empty, or a generated
 * placeholder) holds none; entries that are not accounts are ignored. Parse errors are dropped
 * on purpose: their messages quote the text, which is secret.
 */
function parseAccounts(text: string | undefined): AccountSecretValue {
  if (text === undefined || text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const accounts: AccountSecretValue = {};
  for (const [url, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (value === null || typeof value !== 'object') continue;
    const { directoryUrl, keyPem, accountUrl } = value as Record<string, unknown>;
    if (directoryUrl !== url || typeof keyPem !== 'string' || keyPem.trim() === '') continue;
    const account: AcmeAccount = { directoryUrl: url, keyPem };
    if (typeof accountUrl === 'string' && accountUrl !== '') account.accountUrl = accountUrl;
    accounts[url] = account;
  }
  return accounts;
}
