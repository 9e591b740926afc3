import { type DnsClient, formatServer } from '../../../core/dns/dns-client';
import { DnsUpdateError, DnsUpdateUnavailableError, errorMessage } from '../../../core/errors';
import type { ServerAddress, TxtRecord } from '../../../core/ports';

/** Where to read back from: the server that took the update. */
export interface ReadBackTarget {
  server: ServerAddress;
  zone: string;
  keyName: string;
  client: DnsClient;
  /** Per-query timeout. */
  timeoutMs: number;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * After an UPDATE the server acknowledged (signed NOERROR), ask that same server (RD=0, one TXT
 * query per name, RFC 1035 §4.1.1, over TCP like the UPDATE by default) whether the change is there: every added value served, no
 * removed value served. PowerDNS with a `lua-dnsupdate-policy-script` answers a change its
 * policy refuses with NOERROR and stores nothing; without this check the run would only fail
 * minutes later, as a propagation timeout.
 *
 * A failed read-back query fails an add (the values cannot be shown to be there) but not a
 * removal (the server acknowledged it; the leftover check looks again later).
 *
 * @throws DnsUpdateError naming the server, the zone, the key, each name with how many values
 *   are missing (or left), and the likely cause.
 */
export async function verifyStored(
  op: 'add' | 'delete',
  records: TxtRecord[],
  target: ReadBackTarget,
): Promise<void> {
  const byName = new Map<string, Set<string>>();
  for (const r of records) {
    const values = byName.get(r.fqdn) ?? new Set<string>();
    values.add(r.value);
    byName.set(r.fqdn, values);
  }
  const server = formatServer(target.server);
  const head = `DNS UPDATE of zone ${target.zone} at ${server} answered NOERROR (signed with key "${target.keyName}")`;
  const results = await Promise.all(
    [...byName].map(async ([fqdn, values]) => {
      try {
        const answer = await target.client.query(target.server, fqdn, 'TXT', {
          recursionDesired: false,
          timeoutMs: target.timeoutMs,
        });
        if (answer.rcode !== 'NOERROR' && answer.rcode !== 'NXDOMAIN') {
          throw new Error(`TXT ${fqdn} at ${server} answered ${answer.rcode}`);
        }
        const served = new Set(
          answer.answers.filter((a) => a.type === 'TXT' && a.name === fqdn).map((a) => a.data),
        );
        const wrong = [...values].filter((v) => (op === 'add' ? !served.has(v) : served.has(v)));
        return { fqdn, total: values.size, wrong: wrong.length };
      } catch (error) {
        if (op === 'delete') return { fqdn, total: values.size, wrong: 0 };
        throw new DnsUpdateUnavailableError(
          `${head}, but reading the values back from ${server} (RD=0) failed: ${errorMessage(error)}; the values may not be served`,
          { cause: error },
        );
      }
    }),
  );
  const off = results.filter((r) => r.wrong > 0);
  if (off.length === 0) return;
  const policyHint = `as PowerDNS does when its lua-dnsupdate-policy-script's updatepolicy() returns false; let it return true for key ${target.keyName}, zone ${target.zone} and type TXT`;
  if (op === 'add') {
    const list = off.map((r) => `${r.fqdn} lacks ${r.wrong} of ${plural(r.total, 'value')}`).join('; ');
    throw new DnsUpdateError(
      `${head} but does not serve the added values (read back with RD=0): ${list}. The server dropped the change without refusing it, ${policyHint}`,
    );
  }
  const list = off.map((r) => `${r.fqdn} still has ${r.wrong} of ${plural(r.total, 'value')}`).join('; ');
  throw new DnsUpdateError(
    `${head} to the removal but still serves the values (read back with RD=0): ${list}. The server ignored the deletion without refusing it, ${policyHint}, deletions included`,
  );
}
