import { ACMClient } from '@aws-sdk/client-acm';
import { Route53Client } from '@aws-sdk/client-route-53';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SecretsManagerAccountStore } from '../adapters/account/secrets-manager-account-store';
import { SnsAlerter } from '../adapters/alerts/sns-alerter';
import type { RuntimeSecretOptions } from '../adapters/aws/secret-names';
import { Route53Provider } from '../adapters/dns/route53/route53-provider';
import { SecretsManagerPendingKeyStore } from '../adapters/pending-key/secrets-manager-pending-key-store';
import { AcmCertificateStore } from '../adapters/store/acm/acm-store';
import { SecretsManagerCertificateStore } from '../adapters/store/secrets-manager/secrets-manager-store';
import { ConfigError } from '../core/errors';
import { JsonLogger } from '../core/logger';
import type { CertificateStore } from '../core/ports';
import type { TaskStep } from '../core/state';
import type { StepContext } from '../core/steps/context';
import { ENV } from './env';
import { configFromEnvironment, lazy, sharedContext } from './shared-context';

/**
 * Environment of the secrets the functions create at run time (ACME account per directory,
 * pending keys). To be merged into {@link ENV} with the stack wiring.
 */
export const RUNTIME_SECRET_ENV = {
  /** Name prefix: `<prefix>/acme-account/<sha256(directoryUrl)[0:16]>`, `<prefix>/pending-key/<certificate>`. */
  namePrefix: 'CERTFLOW_SECRET_NAME_PREFIX',
  /** KMS key (id, alias or ARN) for those secrets; unset = the account's `aws/secretsmanager` key. */
  kmsKeyId: 'CERTFLOW_SECRETS_KMS_KEY_ID',
} as const;

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new ConfigError(
      [
        {
          path: name,
          message: `environment variable ${name} is not set; the certflow stack sets it on the function that needs it`,
        },
      ],
      'environment',
    );
  }
  return value;
}

/** AWS mode: Route 53, Secrets Manager, ACM, SNS. SDK clients are created once per cold start. */
export function buildAwsContext(step: TaskStep): StepContext {
  const config = configFromEnvironment();
  const region = process.env.AWS_REGION;
  const logger = new JsonLogger((line) => process.stdout.write(`${line}\n`), { step });
  const secrets = lazy(() => new SecretsManagerClient({ region }));
  const acmClients = new Map<string, ACMClient>();
  const acmClientFor = (r: string): ACMClient => {
    let c = acmClients.get(r);
    if (!c) {
      c = new ACMClient({ region: r });
      acmClients.set(r, c);
    }
    return c;
  };
  const secretStore = lazy(
    () =>
      new SecretsManagerCertificateStore({
        client: secrets(),
        secretArns: JSON.parse(requireEnv(ENV.certificateSecrets)) as Record<string, string>,
      }),
  );
  // Secrets created at run time (ACME account per directory, pending keys): name prefix and KMS key.
  const runtimeSecrets = (): RuntimeSecretOptions => ({
    namePrefix: requireEnv(RUNTIME_SECRET_ENV.namePrefix),
    kmsKeyId: process.env[RUNTIME_SECRET_ENV.kmsKeyId] || undefined,
    tags: [{ Key: 'certflow:managed-by', Value: 'certflow' }],
  });
  return {
    ...sharedContext(config),
    logger,
    accounts: lazy(() => new SecretsManagerAccountStore({ client: secrets(), ...runtimeSecrets() })),
    pendingKeys: lazy(() => new SecretsManagerPendingKeyStore({ client: secrets(), ...runtimeSecrets() })),
    eab: async () => {
      const eab = config.acme.externalAccountBinding;
      if (!eab) return undefined;
      const arn = process.env[ENV.eabSecretArn] ?? eab.hmacKeySecretArn;
      const fromEnv = eab.hmacKeyEnv ? process.env[eab.hmacKeyEnv] : undefined;
      if (fromEnv) return { kid: eab.kid, hmacKey: fromEnv };
      if (!arn) {
        throw new ConfigError([
          {
            path: 'acme.externalAccountBinding',
            message: 'set hmacKeySecretArn to the secret holding the EAB HMAC key',
          },
        ]);
      }
      const res = await secrets().send(new GetSecretValueCommand({ SecretId: arn }));
      return { kid: eab.kid, hmacKey: (res.SecretString ?? '').trim() };
    },
    dnsProvider: lazy(() => {
      if (config.dns.provider !== 'route53') {
        throw new ConfigError([
          { path: 'dns.provider', message: 'the AWS deployment writes records with "route53"' },
        ]);
      }
      const hostedZoneId = process.env[ENV.hostedZoneId] ?? config.dns.hostedZoneId;
      if (!hostedZoneId)
        throw new ConfigError([{ path: 'dns.hostedZoneId', message: 'set it, or createHostedZone: true' }]);
      return new Route53Provider({
        client: new Route53Client({ region: 'us-east-1' }),
        hostedZoneId,
        zone: config.delegation.zone,
      });
    }),
    stores: (certificate): CertificateStore[] =>
      certificate.stores.map((kind): CertificateStore => {
        if (kind === 'secretsmanager') return secretStore();
        if (kind === 'acm') {
          return new AcmCertificateStore({
            clientFor: acmClientFor,
            regions: [...new Set([region ?? 'us-east-1', ...certificate.acmRegions])],
          });
        }
        throw new ConfigError([
          {
            path: `certificates[${certificate.name}].stores`,
            message: 'the "local" store is for local mode; use "secretsmanager" and/or "acm" on AWS',
          },
        ]);
      }),
    alerter: lazy(
      () => new SnsAlerter({ client: new SNSClient({ region }), topicArn: requireEnv(ENV.topicArn) }),
    ),
  };
}
