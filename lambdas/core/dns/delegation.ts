import { DelegationError, DnsQueryError } from '../errors';
import type { ServerAddress } from '../ports';
import type { DnsClient } from './dns-client';
import { formatServer } from './dns-client';
import { canonicalName, challengeName, delegationRecord, isAtOrBelow } from './names';

export interface DelegationOptions {
  /** The delegated validation zone certflow writes in. */
  zone: string;
  /** Recursive resolver that sees the public primary zone. */
  resolver: ServerAddress;
  client: DnsClient;
  /** CNAME hops to follow before giving up. @default 8 */
  maxHops?: number;
  timeoutMs?: number;
}

/** Where the dns-01 TXT value for one identifier must be written. */
export interface Delegation {
  /** `_acme-challenge.<name>` in the primary zone (RFC 8555 §8.4). */
  challengeName: string;
  /** The name inside the delegated zone the CNAME chain lands on. */
  fqdn: string;
  /** The CNAME targets followed, in order (the last is `fqdn`); empty when the name is in the zone. */
  chain: string[];
}

/**
 * Find where the dns-01 TXT record of `domain` (RFC 8555 §8.4; a wildcard shares its base
 * name's `_acme-challenge` name) must be written: the challenge name itself when it lies inside
 * the delegated zone, else the end of its CNAME chain (RFC 1034 §3.6.2), which must land inside
 * the zone. Asks the resolver with RD=1 for the CNAME at each hop; detects loops.
 *
 * @throws DelegationError when there is no CNAME, the chain leaves the zone, loops or is too long;
 *   the message carries the exact record to add to the primary zone.
 * @throws DnsQueryError when the resolver cannot answer (retryable).
 */
export async function resolveDelegation(domain: string, opts: DelegationOptions): Promise<Delegation> {
  const zone = canonicalName(opts.zone);
  const start = challengeName(canonicalName(domain));
  const fix = delegationRecord(canonicalName(domain), zone);
  const chain: string[] = [];
  const fail = (message: string): DelegationError =>
    new DelegationError(`${message}; add to the primary zone: ${fix}`, domain, fix, { chain: [...chain] });
  if (isAtOrBelow(start, zone)) return { challengeName: start, fqdn: start, chain };

  const maxHops = opts.maxHops ?? 8;
  const seen = new Set<string>([start]);
  let current = start;
  for (let hop = 0; hop < maxHops; hop++) {
    const target = await cnameOf(current, opts);
    if (target === undefined) {
      if (hop === 0) throw fail(`${start} has no CNAME into the delegated zone ${zone}`);
      throw fail(`${start} points to ${current}, which is outside the delegated zone ${zone}`);
    }
    chain.push(target);
    if (isAtOrBelow(target, zone)) return { challengeName: start, fqdn: target, chain };
    if (seen.has(target)) throw fail(`${start} has a CNAME loop through ${target}`);
    seen.add(target);
    current = target;
  }
  throw fail(`${start} has a CNAME chain longer than ${maxHops} hops (now at ${current})`);
}

/** The CNAME target of `name`, or undefined when the name has none (NODATA or NXDOMAIN). */
async function cnameOf(name: string, opts: DelegationOptions): Promise<string | undefined> {
  const response = await opts.client.query(opts.resolver, name, 'CNAME', {
    recursionDesired: true,
    timeoutMs: opts.timeoutMs,
  });
  if (response.rcode !== 'NOERROR' && response.rcode !== 'NXDOMAIN') {
    throw new DnsQueryError(
      `resolver ${formatServer(opts.resolver)} answered ${response.rcode} for CNAME ${name}`,
    );
  }
  const record = response.answers.find((a) => a.type === 'CNAME' && a.name === name);
  return record?.data;
}
