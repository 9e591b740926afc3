import { GetHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { DnsProviderError } from '../../core/errors';
import { errorMessageOf, errorNameOf } from './retry';

/** A Route 53 client for the operator CLI (Route 53 is global: us-east-1). */
export function createRoute53Client(): Route53Client {
  return new Route53Client({ region: 'us-east-1', maxAttempts: 3 });
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
    return (res.DelegationSet?.NameServers ?? []).map((n) => n.toLowerCase().replace(/\.$/, ''));
  } catch (error) {
    throw new DnsProviderError(
      `route53: GetHostedZone ${id} failed: ${errorNameOf(error)}: ${errorMessageOf(error)}`,
      { cause: error },
    );
  }
}
