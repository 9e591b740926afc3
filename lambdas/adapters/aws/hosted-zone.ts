import { GetHostedZoneCommand, Route53Client, type Route53ClientConfig } from '@aws-sdk/client-route-53';
import { canonicalName } from '../../core/dns/names';
import { DnsProviderError, errorMessage } from '../../core/errors';
import { route53GlobalRegion } from '../dns/route53/client';
import { errorNameOf } from './retry';

/**
 * The region the SDK resolves when none is given (AWS_REGION, then the shared config profile), or
 * undefined when none is configured.
 */
async function sdkDefaultRegion(): Promise<string | undefined> {
  const probe = new Route53Client({});
  try {
    return await probe.config.region();
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}

/**
 * A Route 53 client for the operator CLI. Route 53 is global with one endpoint per partition,
 * signed in the partition's global endpoint region (`route53GlobalRegion`, as the functions'
 * Route 53 client does): `us-east-1` for the `aws` partition, `cn-northwest-1` for `aws-cn`,
 * `us-gov-west-1` for `aws-us-gov`. The partition is that of `region` (the CLI's `--region`),
 * else of the region the SDK resolves (AWS_REGION, the profile), the same region the CLI's
 * CloudFormation lookup uses; with none, the `aws` partition. `overrides` (e.g. a request handler
 * in tests) cannot change the region.
 * @throws ConfigError for a region of no AWS partition certflow knows.
 */
export async function createRoute53Client(
  region?: string,
  overrides: Omit<Route53ClientConfig, 'region'> = {},
): Promise<Route53Client> {
  const globalRegion = route53GlobalRegion(region ?? (await sdkDefaultRegion()));
  return new Route53Client({ maxAttempts: 3, ...overrides, region: globalRegion });
}

/**
 * The name servers Route 53 assigned to a hosted zone (its delegation set), which the parent
 * zone's NS records must name.
 * @throws DnsProviderError naming the zone and the error.
 */
export async function hostedZoneNameServers(client: Route53Client, hostedZoneId: string): Promise<string[]> {
  const id = hostedZoneId.replace(/^\/?hostedzone\//, '');
  try {
    const res = await client.send(new GetHostedZoneCommand({ Id: id }));
    return (res.DelegationSet?.NameServers ?? []).map((n) => canonicalName(n));
  } catch (error) {
    throw new DnsProviderError(
      `route53: GetHostedZone ${id} failed: ${errorNameOf(error)}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}
