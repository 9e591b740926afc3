import { formatServer, UdpDnsClient } from '../lambdas/core/dns/dns-client';
import { errorText } from '../lambdas/core/errors';
import type { ServerAddress } from '../lambdas/core/ports';
import type { EventLog } from './execute';

/** What the end-of-run check found, asking each authoritative server (real queries, RD=0). */
export interface LeftoverCheck {
  /** This run's values a server still answers, counted by name and server. */
  left: { fqdn: string; server: string; values: number }[];
  /** Servers that did not answer (nothing can be said about them). */
  unchecked: { server: string; error: string }[];
  /** Servers that answered every name (none asked when the run published nothing). */
  checked: string[];
  /** TXT values this run published (from its CreateOrder outputs). */
  published: number;
}

/**
 * TXT values this run published that an authoritative server still answers. `servers` gives the
 * servers to ask (the configured `delegation.nameservers`, or the zone's NS records found through
 * the resolver as CheckPropagation finds them); when they cannot be found, the check says so
 * instead of checking nothing.
 */
export async function leftoverTxtValues(
  events: EventLog[],
  servers: () => Promise<ServerAddress[]>,
): Promise<LeftoverCheck> {
  const records = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.type !== 'StateExited' || e.state.name !== 'CreateOrder') continue;
    const order = (e.state.output as { order?: { records?: { fqdn: string; value: string }[] } } | undefined)
      ?.order;
    for (const r of order?.records ?? []) {
      const values = records.get(r.fqdn) ?? new Set<string>();
      values.add(r.value);
      records.set(r.fqdn, values);
    }
  }
  let published = 0;
  for (const values of records.values()) published += values.size;
  const result: LeftoverCheck = { left: [], unchecked: [], checked: [], published };
  if (published === 0) return result;
  let asked: ServerAddress[];
  try {
    asked = await servers();
  } catch (error) {
    result.unchecked.push({ server: "the zone's name servers", error: errorText(error) });
    return result;
  }
  if (asked.length === 0) {
    result.unchecked.push({ server: "the zone's name servers", error: 'none known' });
    return result;
  }
  const client = new UdpDnsClient({ timeoutMs: 1000, retries: 1 });
  for (const server of asked) {
    const where = formatServer(server);
    let failure: string | undefined;
    for (const [fqdn, values] of records) {
      try {
        const res = await client.query(server, fqdn, 'TXT', { recursionDesired: false });
        if (res.rcode !== 'NOERROR' && res.rcode !== 'NXDOMAIN') {
          failure = `${res.rcode} for ${fqdn}`;
          break;
        }
        const n = res.answers.filter((a) => a.type === 'TXT' && values.has(a.data)).length;
        if (n > 0) result.left.push({ fqdn, server: where, values: n });
      } catch (error) {
        failure = errorText(error);
        break;
      }
    }
    if (failure) result.unchecked.push({ server: where, error: failure });
    else result.checked.push(where);
  }
  return result;
}

/** The lines the run prints about it: "none remain" only when every server answered. */
export function leftoverLines(check: LeftoverCheck): string[] {
  const lines: string[] = [];
  const total = check.left.reduce((n, l) => n + l.values, 0);
  if (total > 0) {
    lines.push(
      `WARNING: ${total} TXT value(s) of this run remain in the delegated zone: ${check.left
        .map((l) => `${l.fqdn} (${l.values} value${l.values === 1 ? '' : 's'} at ${l.server})`)
        .join(', ')}; they stay recorded as pending and the next run removes them`,
    );
  }
  for (const u of check.unchecked) {
    lines.push(
      `delegated zone: could not check ${u.server} (${u.error}); values of this run may remain there`,
    );
  }
  if (check.published === 0) {
    lines.push('delegated zone: this run published no TXT value');
  } else if (total === 0 && check.unchecked.length === 0 && check.checked.length > 0) {
    lines.push(`delegated zone: no TXT value of this run remains (checked at ${check.checked.join(', ')})`);
  }
  return lines;
}
