import type { RuntimeSecretOptions } from '../../adapters/aws/secret-names';
import { ENV } from '../env';
import { requireEnv } from './require-env';

/** Name prefix, KMS key and tags of the secrets a function creates at run time (from its environment). */
export function runtimeSecretOptions(): RuntimeSecretOptions {
  return {
    namePrefix: requireEnv(ENV.secretNamePrefix),
    kmsKeyId: process.env[ENV.secretsKmsKeyId] || undefined,
    tags: [{ Key: 'certflow:managed-by', Value: 'certflow' }],
  };
}
