import { DnsQueryError } from '../errors';
import type { ServerAddress, TxtRecord } from '../ports';
import type { DnsClient, DnsResponse } from './dns-client';
import { formatServer } from './dns-client';

/** Result of one propagation check. */
export interface PropagationResult {
  /** Every expected value is served by every server. */
  ready: boolean;
  /** Human-readable reasons it is not ready, e.g. `"abcdefgh… at x.acme.example.net on 1.2.3.4:53"`. */
  missing: string[];
}

/** The first characters of a TXT value, for messages (dns-01 values are public anyway). */
function shorten(value: string): string {
  return value.length > 12 ? `${value.slice(0, 12)}…` : value;
}

/**
 * Ask EVERY server (RD=0, so each answers from its own zone data) for EVERY name's TXT RRset
 * and check that every expected value is present (RFC 8555 §8.4: the CA may ask any of the
 * zone's authoritative servers). Extra values (another order's) are fine.
 *
 * A server that times out, refuses, fails or answers without the AA bit makes the check "not
 * ready" (its problem is listed in `missing`) rather than an error, because one bad server must
 * not fail the whole certificate while the bounded check loop can still wait for it.
 *
 * @throws DnsQueryError only when every query to every server failed (nothing answered at all:
 *   a configuration or network problem, retryable).
 */
export async function checkTxtPropagation(
  records: TxtRecord[],
  servers: ServerAddress[],
  client: DnsClient,
  opts: { timeoutMs?: number } = {},
): Promise<PropagationResult> {
  const expected = new Map<string, Set<string>>();
  for (const r of records) {
    const fqdn = r.fqdn.toLowerCase().replace(/\.$/, '');
    const values = expected.get(fqdn) ?? new Set<string>();
    values.add(r.value);
    expected.set(fqdn, values);
  }
  if (expected.size === 0) return { ready: true, missing: [] };
  if (servers.length === 0) throw new DnsQueryError('no authoritative servers to check propagation on');

  const checks = servers.flatMap((server) =>
    [...expected.entries()].map(async ([fqdn, values]) => {
      const where = `${fqdn} on ${formatServer(server)}`;
      let response: DnsResponse;
      try {
        response = await client.query(server, fqdn, 'TXT', {
          recursionDesired: false,
          timeoutMs: opts.timeoutMs,
        });
      } catch (error) {
        return { failed: true, missing: [`no answer for ${where}: ${errorText(error)}`] };
      }
      if (response.rcode !== 'NOERROR' && response.rcode !== 'NXDOMAIN') {
        return { failed: true, missing: [`${response.rcode} for ${where}`] };
      }
      if (!response.authoritative) {
        return {
          failed: false,
          missing: [`non-authoritative answer for ${where} (is it a nameserver of the zone?)`],
        };
      }
      const served = new Set(
        response.answers.filter((a) => a.type === 'TXT' && a.name === fqdn).map((a) => a.data),
      );
      return {
        failed: false,
        missing: [...values].filter((v) => !served.has(v)).map((v) => `${shorten(v)} at ${where}`),
      };
    }),
  );
  const results = await Promise.all(checks);
  if (results.every((r) => r.failed)) {
    throw new DnsQueryError(
      `no authoritative server answered the propagation check: ${results.flatMap((r) => r.missing).join('; ')}`,
    );
  }
  const missing = results.flatMap((r) => r.missing);
  return { ready: missing.length === 0, missing };
}

/**
 * The authoritative servers of `zone`: its NS RRset (RFC 1034 §4.2.1), then the A and AAAA
 * addresses of each name server, port 53, asked of a recursive resolver.
 *
 * @throws DnsQueryError when the zone has no NS records or none of them has an address.
 */
export async function discoverAuthoritativeServers(
  zone: string,
  resolver: ServerAddress,
  client: DnsClient,
): Promise<ServerAddress[]> {
  const name = zone.toLowerCase().replace(/\.$/, '');
  const ns = await client.query(resolver, name, 'NS', { recursionDesired: true });
  if (ns.rcode !== 'NOERROR') {
    throw new DnsQueryError(`resolver ${formatServer(resolver)} answered ${ns.rcode} for NS ${name}`);
  }
  const hosts = [...new Set(ns.answers.filter((a) => a.type === 'NS' && a.name === name).map((a) => a.data))];
  if (hosts.length === 0) {
    throw new DnsQueryError(
      `${name} has no NS records at ${formatServer(resolver)}; delegate the zone or set delegation.nameservers`,
    );
  }
  const addresses = await Promise.all(
    hosts.flatMap((host) =>
      (['A', 'AAAA'] as const).map(async (type) => {
        const r = await client.query(resolver, host, type, { recursionDesired: true });
        return r.answers.filter((a) => a.type === type).map((a) => a.data);
      }),
    ),
  );
  const unique = [...new Set(addresses.flat())];
  if (unique.length === 0) {
    throw new DnsQueryError(`none of the name servers of ${name} (${hosts.join(', ')}) has an address`);
  }
  return unique.map((host) => ({ host, port: 53 }));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
