import { Route53Client, type Route53ClientConfig } from '@aws-sdk/client-route-53';
import { ConfigError } from '../../../core/errors';

/**
 * Route 53 is a global service with one endpoint per partition. Each partition's global endpoint
 * signs in the partition's "implicit global region", as listed in the AWS SDK's partitions data
 * (`partitions.json` of `@aws-sdk/util-endpoints`, `outputs.implicitGlobalRegion`) and used by the
 * Route 53 endpoint rules: `route53.amazonaws.com` signs in us-east-1,
 * `route53.amazonaws.com.cn` in cn-northwest-1, `route53.us-gov.amazonaws.com` in us-gov-west-1.
 * The region patterns are the partitions' `regionRegex`.
 */
export const ROUTE53_PARTITIONS: readonly { partition: string; regions: RegExp; globalRegion: string }[] = [
  { partition: 'aws-us-gov', regions: /^us-gov-\w+-\d+$/, globalRegion: 'us-gov-west-1' },
  { partition: 'aws-iso', regions: /^us-iso-\w+-\d+$/, globalRegion: 'us-iso-east-1' },
  { partition: 'aws-iso-b', regions: /^us-isob-\w+-\d+$/, globalRegion: 'us-isob-east-1' },
  { partition: 'aws-iso-e', regions: /^eu-isoe-\w+-\d+$/, globalRegion: 'eu-isoe-west-1' },
  { partition: 'aws-iso-f', regions: /^us-isof-\w+-\d+$/, globalRegion: 'us-isof-south-1' },
  { partition: 'aws-eusc', regions: /^eusc-de-\w+-\d+$/, globalRegion: 'eusc-de-east-1' },
  { partition: 'aws-cn', regions: /^cn-\w+-\d+$/, globalRegion: 'cn-northwest-1' },
  { partition: 'aws', regions: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/, globalRegion: 'us-east-1' },
];

/**
 * The region a Route 53 client must use for the partition of `awsRegion` (the function's
 * `AWS_REGION`): the partition's global endpoint region. Undefined (no region set) means the
 * `aws` partition. Throws {@link ConfigError} for a region of no known partition.
 */
export function route53GlobalRegion(awsRegion: string | undefined): string {
  if (awsRegion === undefined || awsRegion === '') return 'us-east-1';
  const found = ROUTE53_PARTITIONS.find((p) => p.regions.test(awsRegion));
  if (!found) {
    throw new ConfigError(
      [
        {
          path: 'AWS_REGION',
          message: `"${awsRegion}" is in no AWS partition certflow knows (${ROUTE53_PARTITIONS.map((p) => p.partition).join(', ')}); set AWS_REGION to the function's region`,
        },
      ],
      'environment',
    );
  }
  return found.globalRegion;
}

/**
 * Route 53 client for the functions' partition, with the SDK's own retries off (`maxAttempts: 1`):
 * {@link Route53Provider} owns retrying for Route 53 (full-jitter backoff on throttling, and the
 * compare-and-swap loop on `InvalidChangeBatch`), so one throttled operation costs at most the
 * provider's `maxAttempts` requests against Route 53's account-wide 5 requests/second, not that
 * times the SDK's 3. `overrides` (e.g. a request handler in tests) cannot change either setting.
 */
export function createRoute53Client(
  awsRegion: string | undefined,
  overrides: Omit<Route53ClientConfig, 'region' | 'maxAttempts' | 'retryStrategy'> = {},
): Route53Client {
  return new Route53Client({ ...overrides, region: route53GlobalRegion(awsRegion), maxAttempts: 1 });
}
