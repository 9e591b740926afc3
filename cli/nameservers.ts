import type { CertflowConfig } from '../lambdas/core/config/schema';
import { type DnsClient, formatServer, parseServerAddress } from '../lambdas/core/dns/dns-client';
import { canonicalName } from '../lambdas/core/dns/names';
import { describeError } from '../lambdas/core/errors';
import { type StackOptions, stackOutputs } from './common';

/** The validation zone's name servers, and where they came from; or why they are not known. */
export type ZoneNameServers =
  | { nameServers: string[]; source: string }
  | { nameServers: []; source?: undefined; unknown: string };

const clean = (name: string): string => canonicalName(name.trim());

/**
 * The name servers the parent zone must delegate the validation zone to:
 * - route53: the stack's `DelegatedZoneNameServers` output (when the stack created the zone),
 *   else Route 53 GetHostedZone of `dns.hostedZoneId` (or the `DelegatedZoneId` output);
 * - rfc2136: the zone's NS records as its primary server (`dns.server`) serves them.
 * `aws: false` skips every AWS call. Never throws: what failed goes into `unknown`, with where
 * to get the name servers instead.
 */
export async function validationZoneNameServers(
  config: CertflowConfig,
  opts: StackOptions & { aws: boolean; client: DnsClient },
): Promise<ZoneNameServers> {
  const zone = config.delegation.zone;
  if (config.dns.provider === 'rfc2136') {
    const server = parseServerAddress(config.dns.server);
    try {
      const r = await opts.client.query(server, zone, 'NS', { recursionDesired: false });
      const names = r.answers.filter((a) => a.type === 'NS' && a.name === zone).map((a) => clean(a.data));
      if (r.authoritative && names.length > 0) {
        return {
          nameServers: [...new Set(names)].sort(),
          source: `the NS records of ${zone} on ${formatServer(server)}`,
        };
      }
      return {
        nameServers: [],
        unknown: `${formatServer(server)} does not serve ${zone} authoritatively (${r.rcode}${r.authoritative ? '' : ', no AA bit'}); the NS records to add are the ones in ${zone}'s zone file`,
      };
    } catch (error) {
      return {
        nameServers: [],
        unknown: `could not ask ${formatServer(server)} for the NS records of ${zone} (${describeError(error)}); they are the NS records in ${zone}'s zone file (dig NS ${zone} @${server.host} -p ${server.port})`,
      };
    }
  }
  const where = `after \`npx cdk deploy\`, they are the stack output DelegatedZoneNameServers, or \`aws route53 get-hosted-zone --id <DelegatedZoneId> --query DelegationSet.NameServers\`; then run certflow plan --stack-outputs <file from cdk deploy --outputs-file>`;
  if (!opts.aws) return { nameServers: [], unknown: `AWS lookups are off (--no-aws); ${where}` };
  const problems: string[] = [];
  let outputs: Record<string, string> = {};
  let outputsSource = '';
  try {
    const stack = await stackOutputs(opts);
    outputs = stack.outputs;
    outputsSource = stack.source;
    const listed = outputs.DelegatedZoneNameServers;
    if (listed) {
      return {
        nameServers: listed.split(',').map(clean).filter(Boolean),
        source: `the DelegatedZoneNameServers output of ${stack.source}`,
      };
    }
  } catch (error) {
    problems.push(describeError(error));
  }
  const hostedZoneId = config.dns.hostedZoneId ?? outputs.DelegatedZoneId;
  if (hostedZoneId) {
    try {
      const { createRoute53Client, hostedZoneNameServers } = await import(
        '../lambdas/adapters/aws/hosted-zone'
      );
      const names = await hostedZoneNameServers(await createRoute53Client(opts.region), hostedZoneId);
      if (names.length > 0) {
        return {
          nameServers: names,
          source: `Route 53 hosted zone ${hostedZoneId}${outputsSource ? ` (from ${outputsSource})` : ''}`,
        };
      }
      problems.push(`Route 53 hosted zone ${hostedZoneId} has no delegation set`);
    } catch (error) {
      problems.push(describeError(error));
    }
  }
  return { nameServers: [], unknown: [...problems, where].join('; ') };
}
