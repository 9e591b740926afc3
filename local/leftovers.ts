import { UdpDnsClient } from '../lambdas/adapters/dns/transport/udp-dns-client';
import { addressFamily, formatServer, isUnroutable } from '../lambdas/core/dns/dns-client';
import { errorText } from '../lambdas/core/errors';
import type { PendingRecordStore, ServerAddress } from '../lambdas/core/ports';
import type { EventLog } from './execute';

/** What the end-of-run check found, asking each authoritative server (real queries, RD=0). */
export interface LeftoverCheck {
  /** This run's values a server still answers, counted by name and server. */
  left: { fqdn: string; server: string; values: number }[];
  /** Servers that did not answer (nothing can be said about them). */
  unchecked: { server: string; error: string }[];
  /** Servers that answered every name (none asked when the run published nothing). */
  checked: string[];
  /**
   * Server addresses of a family this host cannot use at all (no route, no local address: IPv6
   * where it is disabled), left out as the propagation check leaves them out, each with why.
   */
  leftOut?: { server: string; reason: string }[];
  /** TXT values this run published (from its CreateOrder outputs). */
  published: number;
  /**
   * This run's values whose add was sent and got no answer, counted by name: the server may
   * still apply it after the check, so they stay recorded and the next run's sweep removes them.
   */
  unanswered: { fqdn: string; values: number }[];
}

/** Where this run's pending records are, to find the values whose add got no answer. */
export interface RunPendingRecords {
  store: PendingRecordStore;
  /** The run's execution and its batches' (the owners of the values it wrote). */
  executions: string[];
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
  pending?: RunPendingRecords,
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
  const result: LeftoverCheck = { left: [], unchecked: [], checked: [], published, unanswered: [] };
  if (pending) {
    const owners = new Set(pending.executions);
    const counts = new Map<string, number>();
    try {
      for (const r of await pending.store.list()) {
        if (r.addUnanswered && owners.has(r.owner.executionId))
          counts.set(r.fqdn, (counts.get(r.fqdn) ?? 0) + 1);
      }
    } catch (error) {
      result.unchecked.push({ server: 'the pending values', error: errorText(error) });
    }
    result.unanswered = [...counts].map(([fqdn, values]) => ({ fqdn, values }));
  }
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
    let unroutable: string | undefined;
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
        if (isUnroutable(error)) unroutable = `this host cannot reach ${addressFamily(server)} addresses`;
        else failure = errorText(error);
        break;
      }
    }
    if (unroutable) result.leftOut = [...(result.leftOut ?? []), { server: where, reason: unroutable }];
    else if (failure) result.unchecked.push({ server: where, error: failure });
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
  const late = check.unanswered.reduce((n, u) => n + u.values, 0);
  if (late > 0) {
    lines.push(
      `delegated zone: ${late} TXT value(s) of this run were sent in an UPDATE that got no answer: ${check.unanswered
        .map((u) => `${u.fqdn} (${u.values} value${u.values === 1 ? '' : 's'})`)
        .join(
          ', ',
        )}; the server may still apply it, so they stay recorded as pending and the next run removes them`,
    );
  }
  if (check.published === 0) {
    lines.push('delegated zone: this run published no TXT value');
  } else if (total === 0 && check.unchecked.length === 0 && check.checked.length > 0 && late > 0) {
    lines.push(
      `delegated zone: none of this run's values is served now (checked at ${check.checked.join(', ')}), but the unanswered UPDATE may still add some`,
    );
  } else if (total === 0 && check.unchecked.length === 0 && check.checked.length > 0) {
    const leftOut = (check.leftOut ?? []).map((l) => `; left out ${l.server}: ${l.reason}`).join('');
    lines.push(
      `delegated zone: no TXT value of this run remains (checked at ${check.checked.join(', ')}${leftOut})`,
    );
  }
  return lines;
}
