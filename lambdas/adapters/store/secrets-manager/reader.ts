import { createSecretsManagerClient } from '../../aws/clients';
import { SecretsManagerCertificateStore } from './secrets-manager-store';

/**
 * The Secrets Manager certificate store for the operator CLI: only its `current()` is used,
 * which reads the metadata tags (DescribeSecret of `<prefix>/certificate/<name>`), never the
 * secret value.
 */
export function secretsManagerReader(namePrefix: string, region?: string): SecretsManagerCertificateStore {
  return new SecretsManagerCertificateStore({ client: createSecretsManagerClient(region), namePrefix });
}
