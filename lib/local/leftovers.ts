import { formatServer, UdpDnsClient } from '../../lambdas/core/dns/dns-client';
import type { ServerAddress } from '../../lambdas/core/ports';
import type { EventLog } from './execute';

/** TXT values this run published that an authoritative server still answers (real queries). */
export async function leftoverTxtValues(
  events: EventLog[],
  servers: ServerAddress[],
): Promise<{ fqdn: string; server: string }[]> {
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
  const client = new UdpDnsClient({ timeoutMs: 1000, retries: 0 });
  const left: { fqdn: string; server: string }[] = [];
  for (const server of servers) {
    for (const [fqdn, values] of records) {
      const res = await client.query(server, fqdn, 'TXT', { recursionDesired: false }).catch(() => undefined);
      if (!res) continue; // an unreachable server has nothing to report; the others are still checked
      if (res.answers.some((a) => a.type === 'TXT' && values.has(a.data)))
        left.push({ fqdn, server: formatServer(server) });
    }
  }
  return left;
}
