import type { ACMClient } from '@aws-sdk/client-acm';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerAccountStore } from '../adapters/account/secrets-manager-account-store';
import { SnsAlerter } from '../adapters/alerts/sns-alerter';
import {
  createAcmClient,
  createRoute53Client,
  createSecretsManagerClient,
  createSnsClient,
} from '../adapters/aws/clients';
import { Route53Provider } from '../adapters/dns/route53/route53-provider';
import { AcmCertificateStore } from '../adapters/store/acm/acm-store';
import { SecretsManagerCertificateStore } from '../adapters/store/secrets-manager/secrets-manager-store';
import { ConfigError } from '../core/errors';
import { JsonLogger } from '../core/logger';
import type { CertificateStore } from '../core/ports';
import type { TaskStep } from '../core/state';
import type { StepContext } from '../core/steps/context';
import { ENV } from './env';
import { configFromEnvironment, lazy, sharedContext } from './shared-context';

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
  const secrets = lazy(() => createSecretsManagerClient(region));
  const acmClients = new Map<string, ACMClient>();
  const acmClientFor = (r: string): ACMClient => {
    let c = acmClients.get(r);
    if (!c) {
      c = createAcmClient(r);
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
  return {
    ...sharedContext(config),
    logger,
    accounts: lazy(
      () =>
        new SecretsManagerAccountStore({ client: secrets(), secretArn: requireEnv(ENV.accountSecretArn) }),
    ),
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
        client: createRoute53Client(region),
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
      () => new SnsAlerter({ client: createSnsClient(region), topicArn: requireEnv(ENV.topicArn) }),
    ),
  };
}
