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
 * | DynamoDB        | the SDK's standard retry mode   | 3                 |
 * | Step Functions  | the SDK's standard retry mode   | 3                 |
 * | CloudWatch      | the SDK's standard retry mode   | 3                 |
 *
 * The adapters of the last four never retry themselves. The SDK's standard mode retries
 * throttling (`ThrottlingException`, `Throttling`, HTTP 429...), transient and 5xx errors with
 * exponential backoff and a retry quota.
 */
import type { ACMClient, ACMClientConfig } from '@aws-sdk/client-acm';
import type { CloudWatchClient, CloudWatchClientConfig } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient, SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import type { SFNClient, SFNClientConfig } from '@aws-sdk/client-sfn';
import type { SNSClient, SNSClientConfig } from '@aws-sdk/client-sns';

// Each SDK package is loaded when its first client is made: a function loads only the clients
// its step uses (in Lambda the SDK comes from the Node.js runtime; the bundles keep it external).

export { createRoute53Client, route53GlobalRegion } from '../dns/route53/client';

/** The SDK retry settings of the clients whose adapters do not retry. */
export const SDK_STANDARD_RETRY = { maxAttempts: 3, retryMode: 'standard' } as const;

type Fixed = 'region' | 'maxAttempts' | 'retryMode' | 'retryStrategy';

/** Secrets Manager client for `region`; the SDK retries (3 attempts, standard mode). */
export function createSecretsManagerClient(
  region: string | undefined,
  overrides: Omit<SecretsManagerClientConfig, Fixed> = {},
): SecretsManagerClient {
  const { SecretsManagerClient } =
    require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');
  return new SecretsManagerClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}

/** ACM client for `region`; the SDK retries (3 attempts, standard mode). */
export function createAcmClient(region: string, overrides: Omit<ACMClientConfig, Fixed> = {}): ACMClient {
  const { ACMClient } = require('@aws-sdk/client-acm') as typeof import('@aws-sdk/client-acm');
  return new ACMClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}

/** SNS client for `region`; the SDK retries (3 attempts, standard mode). */
export function createSnsClient(
  region: string | undefined,
  overrides: Omit<SNSClientConfig, Fixed> = {},
): SNSClient {
  const { SNSClient } = require('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns');
  return new SNSClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}

/** DynamoDB client for `region` (the pending-values table); the SDK retries (3 attempts, standard mode). */
export function createDynamoDbClient(
  region: string | undefined,
  overrides: Omit<DynamoDBClientConfig, Fixed> = {},
): DynamoDBClient {
  const { DynamoDBClient } = require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb');
  return new DynamoDBClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}

/** Step Functions client for `region` (the sweep's DescribeExecution); the SDK retries (3 attempts, standard mode). */
export function createSfnClient(
  region: string | undefined,
  overrides: Omit<SFNClientConfig, Fixed> = {},
): SFNClient {
  const { SFNClient } = require('@aws-sdk/client-sfn') as typeof import('@aws-sdk/client-sfn');
  return new SFNClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}

/** CloudWatch client for `region` (the ACM expiry alarms); the SDK retries (3 attempts, standard mode). */
export function createCloudWatchClient(
  region: string | undefined,
  overrides: Omit<CloudWatchClientConfig, Fixed> = {},
): CloudWatchClient {
  const { CloudWatchClient } =
    require('@aws-sdk/client-cloudwatch') as typeof import('@aws-sdk/client-cloudwatch');
  return new CloudWatchClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}
