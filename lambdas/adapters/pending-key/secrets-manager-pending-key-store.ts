import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { errorMessage, PendingKeyStoreError } from '../../core/errors';
import type { PendingKeyStore } from '../../core/ports';
import { errorNameOf } from '../aws/retry';
import {
  isSecretNameSegment,
  namePrefixProblem,
  pendingKeySecretName,
  type RuntimeSecretOptions,
} from '../aws/secret-names';

/** Options of {@link SecretsManagerPendingKeyStore}. */
export interface SecretsManagerPendingKeyStoreOptions extends RuntimeSecretOptions {
  /** Created once per cold start by the caller. */
  client: SecretsManagerClient;
}

/** What a cleared secret holds: no key. */
const CLEARED = JSON.stringify({ cleared: true });

/**
 * Pending certificate keys in Secrets Manager: one secret per certificate, named
 * `<prefix>/pending-key/<certificate>`, created on first use with CreateSecret (KMS key and tags
 * from the options), then written with PutSecretValue. The value is JSON `{orderUrl, keyPem}`;
 * `clear` (FinalizeAndStore calls it for an order found `invalid`) writes `{"cleared": true}`
 * over it. After a success the key stays until the certificate's next order replaces it: it is
 * the stored certificate's own key, which the certificate store holds anyway (as does
 * AWSPREVIOUS, the version Secrets Manager keeps before a replace or a clear). Errors name the
 * secret and the call, never the key.
 */
export class SecretsManagerPendingKeyStore implements PendingKeyStore {
  private readonly client: SecretsManagerClient;
  private readonly options: RuntimeSecretOptions;

  constructor(options: SecretsManagerPendingKeyStoreOptions) {
    const problem = namePrefixProblem(options.namePrefix);
    if (problem) {
      throw new PendingKeyStoreError(
        `secretsmanager: the secret name prefix "${String(options.namePrefix)}" is unusable: ${problem}`,
      );
    }
    this.client = options.client;
    this.options = options;
  }

  /** The secret that holds the pending key of `certificate`. */
  secretName(certificate: string): string {
    if (!isSecretNameSegment(certificate)) {
      throw new PendingKeyStoreError(
        `secretsmanager: "${certificate}" cannot be part of a secret name (letters, digits and _ + = . @ -)`,
      );
    }
    return pendingKeySecretName(this.options.namePrefix, certificate);
  }

  /** The key saved for this certificate and order; undefined when none (no secret, cleared, or another order's). */
  async load(certificate: string, orderUrl: string): Promise<string | undefined> {
    const name = this.secretName(certificate);
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
    } catch (error) {
      if (errorNameOf(error) === 'ResourceNotFoundException') return undefined;
      throw this.failure('GetSecretValue', name, error);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text ?? '');
    } catch {
      // No cause: JSON.parse messages quote the text, which may hold the key.
      throw new PendingKeyStoreError(`secretsmanager: the pending key secret ${name} does not hold JSON`);
    }
    const { orderUrl: saved, keyPem } = (parsed ?? {}) as { orderUrl?: unknown; keyPem?: unknown };
    return saved === orderUrl && typeof keyPem === 'string' && keyPem !== '' ? keyPem : undefined;
  }

  /** Save the key for `orderUrl`: PutSecretValue, or CreateSecret when the secret does not exist yet. */
  async save(certificate: string, orderUrl: string, keyPem: string): Promise<void> {
    const name = this.secretName(certificate);
    const value = JSON.stringify({ orderUrl, keyPem });
    if (await this.put(name, value)) return;
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: name,
          Description: `certflow: private key of the order being finalized for certificate ${certificate}`,
          SecretString: value,
          ...(this.options.kmsKeyId ? { KmsKeyId: this.options.kmsKeyId } : {}),
          ...(this.options.tags?.length ? { Tags: this.options.tags } : {}),
        }),
      );
      return;
    } catch (error) {
      // Another attempt created it a moment ago: write our value as a new version.
      if (errorNameOf(error) !== 'ResourceExistsException') throw this.failure('CreateSecret', name, error);
    }
    if (!(await this.put(name, value))) {
      throw new PendingKeyStoreError(
        `secretsmanager: the pending key secret ${name} vanished while it was saved`,
      );
    }
  }

  /** Overwrite the key with `{"cleared": true}`; a secret that does not exist is already clear. */
  async clear(certificate: string): Promise<void> {
    await this.put(this.secretName(certificate), CLEARED);
  }

  /** PutSecretValue; false when the secret does not exist. */
  private async put(name: string, value: string): Promise<boolean> {
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
      return true;
    } catch (error) {
      if (errorNameOf(error) === 'ResourceNotFoundException') return false;
      throw this.failure('PutSecretValue', name, error);
    }
  }

  private failure(operation: string, name: string, error: unknown): PendingKeyStoreError {
    return new PendingKeyStoreError(
      `secretsmanager: ${operation} on the pending key secret ${name} failed: ${errorNameOf(error)}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}
