/**
 * AWS SDK clients, one factory per service, each with ONE retry layer (see
 * lambdas/adapters/dns/route53/README.md, "Retries: one layer per call"):
 *
 * | client          | who retries                     | attempts per call |
 * | --------------- | ------------------------------- | ----------------- |
 * | Route 53        | `Route53Provider` (SDK: off)    | provider `maxAttempts` (6) |
 * | Secrets Manager | the SDK's standard retry mode   | 3                 |
 * | ACM             | the SDK's standard retry mode   | 3                 |
 * | SNS             | the SDK's standard retry mode   | 3                 |
 *
 * The adapters of the last three never retry themselves. The SDK's standard mode retries
 * throttling (`ThrottlingException`, `Throttling`, HTTP 429...), transient and 5xx errors with
 * exponential backoff and a retry quota.
 */
import { ACMClient, type ACMClientConfig } from '@aws-sdk/client-acm';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';

export { createRoute53Client, route53GlobalRegion } from '../dns/route53/client';

/** The SDK retry settings of the clients whose adapters do not retry. */
export const SDK_STANDARD_RETRY = { maxAttempts: 3, retryMode: 'standard' } as const;

type Fixed = 'region' | 'maxAttempts' | 'retryMode' | 'retryStrategy';

/** Secrets Manager client for `region`; the SDK retries (3 attempts, standard mode). */
export function createSecretsManagerClient(
  region: string | undefined,
  overrides: Omit<SecretsManagerClientConfig, Fixed> = {},
): SecretsManagerClient {
  return new SecretsManagerClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}

/** ACM client for `region`; the SDK retries (3 attempts, standard mode). */
export function createAcmClient(region: string, overrides: Omit<ACMClientConfig, Fixed> = {}): ACMClient {
  return new ACMClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}

/** SNS client for `region`; the SDK retries (3 attempts, standard mode). */
export function createSnsClient(
  region: string | undefined,
  overrides: Omit<SNSClientConfig, Fixed> = {},
): SNSClient {
  return new SNSClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}
