import { ConfigError } from '../../core/errors';
import { ENV } from '../env';
import { secretsManagerClient } from './aws-clients';
import type { Wiring } from './types';

/**
 * The External Account Binding key (RFC 8555 §7.3.4), when the CA needs one: from the
 * environment variable named by `hmacKeyEnv`, else (on AWS) from the Secrets Manager secret
 * `hmacKeySecretArn`. The key is read when needed and never logged.
 */
export const eabWiring: Wiring<'eab'> = ({ config, mode }) => {
  return async () => {
    const eab = config.acme.externalAccountBinding;
    if (!eab) return undefined;
    const fromEnv = eab.hmacKeyEnv ? process.env[eab.hmacKeyEnv] : undefined;
    if (fromEnv) return { kid: eab.kid, hmacKey: fromEnv };
    const arn = mode === 'aws' ? (process.env[ENV.eabSecretArn] ?? eab.hmacKeySecretArn) : undefined;
    if (!arn) {
      throw new ConfigError([
        eab.hmacKeyEnv
          ? {
              path: 'acme.externalAccountBinding.hmacKeyEnv',
              message: `set the environment variable ${eab.hmacKeyEnv} to the EAB HMAC key`,
            }
          : {
              path: 'acme.externalAccountBinding',
              message:
                mode === 'local'
                  ? 'local mode reads the EAB HMAC key from hmacKeyEnv; set it'
                  : 'set hmacKeySecretArn to the secret holding the EAB HMAC key',
            },
      ]);
    }
    const { GetSecretValueCommand } =
      require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');
    const res = await secretsManagerClient().send(new GetSecretValueCommand({ SecretId: arn }));
    return { kid: eab.kid, hmacKey: (res.SecretString ?? '').trim() };
  };
};
