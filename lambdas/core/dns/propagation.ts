import { DnsQueryError, errorMessage } from '../errors';
import type { ServerAddress, TxtRecord } from '../ports';
import type { DnsClient, DnsResponse } from './dns-client';
import { addressFamily, formatServer, isUnroutable } from './dns-client';
import { canonicalName } from './names';

/** Result of one propagation check. */
export interface PropagationResult {
  /** Every expected value is served by every server this host can reach (at least one). */
  ready: boolean;
  /**
   * Human-readable reasons it is not ready, each naming the server, e.g.
   * `"abcdefgh… at x.acme.example.net on 1.2.3.4:53"` or `"SERVFAIL for x.acme.example.net on 1.2.3.4:53"`.
   */
  missing: string[];
  /**
   * Server addresses left out because this host cannot reach their address family at all (no
   * route, no local address of the family: IPv6 on a Lambda function outside a VPC), each with
   * the reason, e.g. `"[2001:db8::53]:53: this host cannot reach IPv6 addresses (…)"`.
   */
  leftOut: string[];
}

/** The first characters of a TXT value, for messages (dns-01 values are public anyway). */
function shorten(value: string): string {
  return value.length > 12 ? `${value.slice(0, 12)}…` : value;
}

type ServerCheck = { leftOut?: string; missing: string[] };

/**
 * Ask EVERY server (RD=0, so each answers from its own zone data) for EVERY name's TXT RRset
 * and check that every expected value is present (RFC 8555 §8.4: the CA may ask any of the
 * zone's authoritative servers). Extra values (another order's) are fine.
 *
 * A server that times out, refuses, fails (SERVFAIL, REFUSED, …) or answers without the AA bit
 * makes the check "not ready", with its problem listed in `missing`, never an error: the bounded
 * check loop waits for it until its limit, and the step then names each server and its last
 * answer. An address this host cannot reach at all (its family is unusable here, see
 * {@link isUnroutable}) is left out and listed in `leftOut`; the check is ready only if at least
 * one server was asked and every asked server serves every value.
 */
export async function checkTxtPropagation(
  records: TxtRecord[],
  servers: ServerAddress[],
  client: DnsClient,
  opts: { timeoutMs?: number } = {},
): Promise<PropagationResult> {
  const expected = new Map<string, Set<string>>();
  for (const r of records) {
    const fqdn = canonicalName(r.fqdn);
    const values = expected.get(fqdn) ?? new Set<string>();
    values.add(r.value);
    expected.set(fqdn, values);
  }
  if (expected.size === 0) return { ready: true, missing: [], leftOut: [] };
  if (servers.length === 0) {
    return { ready: false, missing: ['no authoritative server to check propagation on'], leftOut: [] };
  }

  const checkOne = async (server: ServerAddress, fqdn: string, values: Set<string>): Promise<ServerCheck> => {
    const where = `${fqdn} on ${formatServer(server)}`;
    let response: DnsResponse;
    try {
      response = await client.query(server, fqdn, 'TXT', {
        recursionDesired: false,
        timeoutMs: opts.timeoutMs,
      });
    } catch (error) {
      if (isUnroutable(error)) {
        return {
          leftOut: `${formatServer(server)}: this host cannot reach ${addressFamily(server)} addresses (${rootCause(error)})`,
          missing: [],
        };
      }
      return { missing: [`no answer for ${where}: ${errorMessage(error)}`] };
    }
    if (response.rcode !== 'NOERROR' && response.rcode !== 'NXDOMAIN') {
      return { missing: [`${response.rcode} for ${where}`] };
    }
    if (!response.authoritative) {
      return { missing: [`non-authoritative answer for ${where} (is it a nameserver of the zone?)`] };
    }
    const served = new Set(
      response.answers.filter((a) => a.type === 'TXT' && a.name === fqdn).map((a) => a.data),
    );
    return { missing: [...values].filter((v) => !served.has(v)).map((v) => `${shorten(v)} at ${where}`) };
  };

  const results = await Promise.all(
    servers.flatMap((server) => [...expected].map(([fqdn, values]) => checkOne(server, fqdn, values))),
  );
  const leftOut = [...new Set(results.flatMap((r) => (r.leftOut ? [r.leftOut] : [])))];
  const missing = results.flatMap((r) => r.missing);
  if (results.every((r) => r.leftOut !== undefined)) {
    missing.push(`no authoritative server address is reachable from this host (${leftOut.join('; ')})`);
  }
  return { ready: missing.length === 0, missing, leftOut };
}

/** The innermost error's message (the socket's own words, e.g. `connect ENETUNREACH …`). */
function rootCause(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e instanceof Error && e.cause !== undefined; depth++) e = e.cause;
  return errorMessage(e);
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
  const name = canonicalName(zone);
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
