import { Rfc2136Provider } from '../../adapters/dns/rfc2136/rfc2136-provider';
import { readTsigSecret } from '../../adapters/dns/rfc2136/tsig-secret';
import { parseServerAddress } from '../../core/dns/dns-client';
import { ConfigError } from '../../core/errors';
import type { DnsProvider } from '../../core/ports';
import { callIntervalMs } from '../../core/renewal/request-pacing';
import { ENV } from '../env';
import { route53Client } from './aws-clients';
import type { Wiring } from './types';

/**
 * The provider that writes TXT values in the delegated zone, as the configuration says:
 * `rfc2136` (BIND, Knot, PowerDNS; what local mode runs) or `route53` (the AWS deployment).
 */
export const dnsProviderWiring: Wiring<'dnsProvider'> = ({ config, mode }) => {
  let provider: DnsProvider | undefined;
  return () => {
    if (provider) return provider;
    const dns = config.dns;
    if (dns.provider === 'rfc2136') {
      provider = new Rfc2136Provider({
        server: parseServerAddress(dns.server),
        zone: config.delegation.zone,
        tsig: { name: dns.tsig.name, algorithm: dns.tsig.algorithm, secret: readTsigSecret(dns.tsig) },
      });
      return provider;
    }
    if (mode === 'local') {
      throw new ConfigError([
        {
          path: 'dns.provider',
          message: 'local mode writes records with "rfc2136"; route53 needs the AWS deployment',
        },
      ]);
    }
    const hostedZoneId = process.env[ENV.hostedZoneId] ?? dns.hostedZoneId;
    if (!hostedZoneId) {
      throw new ConfigError([{ path: 'dns.hostedZoneId', message: 'set it, or createHostedZone: true' }]);
    }
    const { Route53Provider } =
      require('../../adapters/dns/route53/route53-provider') as typeof import('../../adapters/dns/route53/route53-provider');
    provider = new Route53Provider({
      client: route53Client(),
      hostedZoneId,
      zone: config.delegation.zone,
      // All certificates in flight share certflow's part of the account's Route 53 rate.
      minIntervalMs: callIntervalMs(
        dns.requestsPerSecond,
        config.renewal.maxConcurrency * config.renewal.batchConcurrency,
      ),
    });
    return provider;
  };
};
