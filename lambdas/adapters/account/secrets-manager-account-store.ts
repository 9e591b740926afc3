import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AccountStoreError, errorMessage } from '../../core/errors';
import type { AccountStore, AcmeAccount } from '../../core/ports';
import { errorNameOf } from '../aws/retry';
import { accountSecretName, namePrefixProblem, type RuntimeSecretOptions } from '../aws/secret-names';

/** Options of {@link SecretsManagerAccountStore}. */
export interface SecretsManagerAccountStoreOptions extends RuntimeSecretOptions {
  /** Created once per cold start by the caller. */
  client: SecretsManagerClient;
}

/**
 * ACME account keys (RFC 8555 §7.3) in Secrets Manager, one secret per ACME directory URL,
 * named `<prefix>/acme-account/<first 16 hex of sha256(directoryUrl)>` and created at run time.
 * The value is JSON `{ directoryUrl, keyPem, accountUrl? }`.
 *
 * `saveIfAbsent` is CreateSecret, which Secrets Manager refuses with ResourceExistsException
 * when the name is taken: of two runs racing to create the account, one wins and the other
 * reads the winner's key. Errors name the secret and the call, never the key.
 */
export class SecretsManagerAccountStore implements AccountStore {
  private readonly client: SecretsManagerClient;
  private readonly options: RuntimeSecretOptions;

  constructor(options: SecretsManagerAccountStoreOptions) {
    const problem = namePrefixProblem(options.namePrefix);
    if (problem) {
      throw new AccountStoreError(
        `secretsmanager: the secret name prefix "${String(options.namePrefix)}" is unusable: ${problem}`,
      );
    }
    this.client = options.client;
    this.options = options;
  }

  /** The secret that holds the account for `directoryUrl`. */
  secretName(directoryUrl: string): string {
    return accountSecretName(this.options.namePrefix, directoryUrl);
  }

  /**
   * The account for this directory, or undefined when its secret does not exist (or has no value).
   * @throws AccountStoreError when the secret cannot be read or holds something else.
   */
  async load(directoryUrl: string): Promise<AcmeAccount | undefined> {
    const name = this.secretName(directoryUrl);
    let text: string | undefined;
    try {
      const res = await this.client.send(new GetSecretValueCommand({ SecretId: name }));
      text = res.SecretString;
    } catch (error) {
      if (errorNameOf(error) === 'ResourceNotFoundException') return undefined;
      throw this.failure('GetSecretValue', name, error);
    }
    const account = parseAccount(text);
    if (!account) {
      throw new AccountStoreError(
        `secretsmanager: the ACME account secret ${name} does not hold {"directoryUrl", "keyPem", "accountUrl"?} JSON; delete it so certflow creates the account again`,
      );
    }
    if (account.directoryUrl !== directoryUrl) {
      throw new AccountStoreError(
        `secretsmanager: the ACME account secret ${name} belongs to ${account.directoryUrl}, not ${directoryUrl}`,
      );
    }
    return account;
  }

  /** Replace the account's value (e.g. to record its URL); the secret must exist. */
  async save(account: AcmeAccount): Promise<void> {
    const name = this.secretName(checkAccount(account).directoryUrl);
    try {
      await this.client.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: JSON.stringify(contentOf(account)) }),
      );
    } catch (error) {
      throw this.failure('PutSecretValue', name, error);
    }
  }

  /**
   * Create the account's secret with this value, unless it exists: then return the account it
   * holds (the winner's). KMS key and tags come from the options.
   */
  async saveIfAbsent(account: AcmeAccount): Promise<AcmeAccount> {
    const name = this.secretName(checkAccount(account).directoryUrl);
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: name,
          Description: `certflow ACME account key for ${account.directoryUrl}`,
          SecretString: JSON.stringify(contentOf(account)),
          ...(this.options.kmsKeyId ? { KmsKeyId: this.options.kmsKeyId } : {}),
          ...(this.options.tags?.length ? { Tags: this.options.tags } : {}),
        }),
      );
      return contentOf(account);
    } catch (error) {
      if (errorNameOf(error) !== 'ResourceExistsException') throw this.failure('CreateSecret', name, error);
    }
    const winner = await this.load(account.directoryUrl);
    if (!winner) {
      throw new AccountStoreError(
        `secretsmanager: the ACME account secret ${name} exists but holds no value; delete it (or put an account in it) and run again`,
      );
    }
    return winner;
  }

  private failure(operation: string, name: string, error: unknown): AccountStoreError {
    return new AccountStoreError(
      `secretsmanager: ${operation} on the ACME account secret ${name} failed: ${errorNameOf(error)}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

function checkAccount(account: AcmeAccount): AcmeAccount {
  if (typeof account?.directoryUrl !== 'string' || account.directoryUrl === '') {
    throw new AccountStoreError('secretsmanager: cannot save an ACME account without its directory URL');
  }
  if (typeof account.keyPem !== 'string' || account.keyPem.trim() === '') {
    throw new AccountStoreError(
      `secretsmanager: cannot save the ACME account for ${account.directoryUrl} without its key`,
    );
  }
  return account;
}

function contentOf(account: AcmeAccount): AcmeAccount {
  const content: AcmeAccount = { directoryUrl: account.directoryUrl, keyPem: account.keyPem };
  if (account.accountUrl !== undefined) content.accountUrl = account.accountUrl;
  return content;
}

/**
 * The account in a secret value, or undefined when it is not one. Parse errors are dropped on
 * purpose: their messages quote the text, which is secret.
 */
function parseAccount(text: string | undefined): AcmeAccount | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const { directoryUrl, keyPem, accountUrl } = parsed as Record<string, unknown>;
  if (typeof directoryUrl !== 'string' || typeof keyPem !== 'string' || keyPem.trim() === '')
    return undefined;
  const account: AcmeAccount = { directoryUrl, keyPem };
  if (typeof accountUrl === 'string' && accountUrl !== '') account.accountUrl = accountUrl;
  return account;
}
