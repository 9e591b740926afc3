import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerCertificateStore } from './secrets-manager-store';

/**
 * The Secrets Manager certificate store for the operator CLI: only its `current()` is used,
 * which reads the metadata tags (DescribeSecret), never the secret value.
 */
export function secretsManagerReader(
  secretArns: Record<string, string>,
  region?: string,
): SecretsManagerCertificateStore {
  return new SecretsManagerCertificateStore({
    client: new SecretsManagerClient({ region, maxAttempts: 5 }),
    secretArns,
  });
}
