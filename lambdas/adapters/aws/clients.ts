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
import { ACMClient, type ACMClientConfig } from '@aws-sdk/client-acm';
import { CloudWatchClient, type CloudWatchClientConfig } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { SFNClient, type SFNClientConfig } from '@aws-sdk/client-sfn';
import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';

// Static imports, one factory each: the bundles carry the SDK (lib/bundling/function-bundles.ts),
// and esbuild keeps a client (and only the commands a step imports) in a function only when the
// step uses its factory; the SDK packages declare `"sideEffects": false`.

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

/** DynamoDB client for `region` (the pending-values table); the SDK retries (3 attempts, standard mode). */
export function createDynamoDbClient(
  region: string | undefined,
  overrides: Omit<DynamoDBClientConfig, Fixed> = {},
): DynamoDBClient {
  return new DynamoDBClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}

/** Step Functions client for `region` (the sweep's DescribeExecution); the SDK retries (3 attempts, standard mode). */
export function createSfnClient(
  region: string | undefined,
  overrides: Omit<SFNClientConfig, Fixed> = {},
): SFNClient {
  return new SFNClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}

/** CloudWatch client for `region` (the ACM expiry alarms); the SDK retries (3 attempts, standard mode). */
export function createCloudWatchClient(
  region: string | undefined,
  overrides: Omit<CloudWatchClientConfig, Fixed> = {},
): CloudWatchClient {
  return new CloudWatchClient({ ...overrides, region, ...SDK_STANDARD_RETRY });
}
