import { errorMessage } from '../errors';
import type { ServerAddress } from '../ports';
import type { DnsAnswer, DnsClient, DnsResponse, QueryType } from './dns-client';
import { formatServer } from './dns-client';
import { canonicalName } from './names';

/**
 * Is the validation zone delegated to the servers that actually serve it? A CA resolves
 * `<name>.<zone>` TXT from the root down: the parent zone must hold NS records for the zone
 * (RFC 1034 §4.2.2), and every server they name must answer for the zone with AA set
 * (RFC 1035 §4.1.1). Servers the parent names that do not answer make validation fail at
 * random ("lame delegation", RFC 8499 §7).
 */

export interface ZoneFinding {
  /** `fail`: validation will (or may at random) fail; `warning`: works, but is inconsistent. */
  level: 'ok' | 'warning' | 'fail';
  message: string;
  /** Exact records to add, change or remove (zone-file form), with where. */
  fix: string[];
}

export interface NameServerReport {
  name: string;
  address?: string;
  /** Answered SOA for the zone with AA set. */
  authoritative: boolean;
  problem?: string;
}

export interface ZoneDelegationReport {
  zone: string;
  /** The closest enclosing zone found above `zone`. */
  parent?: string;
  /** NS names the parent's servers delegate the zone to. */
  delegatedTo: string[];
  /** The zone's own NS RRset, as its servers answer it. */
  zoneNameServers: string[];
  servers: NameServerReport[];
  findings: ZoneFinding[];
}

export interface ZoneDelegationOptions {
  zone: string;
  /** Recursive resolver (finds the parent zone and name-server addresses). */
  resolver: ServerAddress;
  client: DnsClient;
  /** Port authoritative servers are asked on. @default 53 */
  port?: number;
  /**
   * Where to reach a name server instead of its address record and `port`, by NS name (hidden
   * or split-horizon servers, and test setups with several servers on one host).
   */
  nameServerAddresses?: Record<string, ServerAddress>;
  timeoutMs?: number;
  /**
   * The NS names the zone is meant to be served by (e.g. the Route 53 delegation set), asked
   * for only when the parent has no delegation, to write the NS records to add.
   */
  expectedNameServers?: () => Promise<{ nameServers: string[]; source: string } | undefined>;
}

const uniqueSorted = (values: string[]): string[] => [...new Set(values.map(canonicalName))].sort();
const nsRecord = (zone: string, host: string): string => `${canonicalName(zone)}. NS ${canonicalName(host)}.`;

/** Check the delegation of `opts.zone`; never throws for DNS failures (they become findings). */
export async function checkZoneDelegation(opts: ZoneDelegationOptions): Promise<ZoneDelegationReport> {
  const zone = canonicalName(opts.zone);
  const port = opts.port ?? 53;
  const overrides = new Map(
    Object.entries(opts.nameServerAddresses ?? {}).map(([name, address]) => [canonicalName(name), address]),
  );
  /** Where to ask name server `name` found at `address`. */
  const reach = (name: string, address: string): ServerAddress =>
    overrides.get(name) ?? { host: address, port };
  const report: ZoneDelegationReport = {
    zone,
    delegatedTo: [],
    zoneNameServers: [],
    servers: [],
    findings: [],
  };
  const fail = (message: string, fix: string[] = []): void => {
    report.findings.push({ level: 'fail', message, fix });
  };
  const ask = (server: ServerAddress, name: string, type: QueryType, recursionDesired: boolean) =>
    opts.client.query(server, name, type, { recursionDesired, timeoutMs: opts.timeoutMs });

  let parent: string;
  try {
    parent = await findParentZone(zone, opts.resolver, ask);
  } catch (error) {
    fail(`cannot find the zone above ${zone}: ${errorMessage(error)}`);
    return report;
  }
  report.parent = parent;

  let parentServers: { name: string; address: string }[];
  try {
    parentServers = await serversOf(parent, opts.resolver, ask, overrides);
  } catch (error) {
    fail(`cannot find the name servers of the parent zone ${parent || '.'}: ${errorMessage(error)}`);
    return report;
  }

  // What the parent's servers say about the zone: a referral (NS in the authority section), an
  // authoritative NS answer (the server also serves the zone), or NXDOMAIN/NODATA (no delegation).
  const glue = new Map<string, string[]>();
  const views = await Promise.all(
    parentServers.map(async (server) => {
      const at = reach(server.name, server.address);
      try {
        const r = await ask(at, zone, 'NS', false);
        for (const a of r.additional ?? []) {
          if (a.type === 'A') glue.set(a.name, [...(glue.get(a.name) ?? []), a.data]);
        }
        return { server, ns: delegationIn(zone, r), rcode: r.rcode };
      } catch (error) {
        return { server, ns: undefined, rcode: `no answer (${errorMessage(error)})` };
      }
    }),
  );
  const answered = views.filter((v) => v.ns !== undefined);
  if (answered.length === 0) {
    fail(
      `no server of the parent zone ${parent} answered for ${zone}: ${views
        .map((v) => `${v.server.name} (${formatServer(reach(v.server.name, v.server.address))}) ${v.rcode}`)
        .join('; ')}`,
    );
    return report;
  }
  const delegating = answered.filter((v) => (v.ns ?? []).length > 0);
  if (delegating.length === 0) {
    const given = await opts.expectedNameServers?.().catch(() => undefined);
    const expected = uniqueSorted(
      given?.nameServers.length
        ? given.nameServers
        : await ownNameServers(zone, opts.resolver, ask).catch(() => []),
    );
    const source = given?.nameServers.length ? given.source : 'the resolver';
    const asked = answered.map((v) => `${v.server.name} ${v.rcode}`).join(', ');
    fail(
      `${zone} is not delegated: the parent zone ${parent} has no NS records for it (${asked}), so a CA cannot find the TXT records in it`,
      expected.length > 0
        ? [
            `add to the parent zone ${parent} (the zone's name servers, from ${source}):`,
            ...expected.map((ns) => nsRecord(zone, ns)),
          ]
        : [
            `add NS records for ${zone} to the parent zone ${parent}, naming the zone's name servers (certflow plan prints them)`,
          ],
    );
    return report;
  }
  const sets = delegating.map((v) => uniqueSorted(v.ns ?? []));
  report.delegatedTo = uniqueSorted(sets.flat());
  const first = sets[0] ?? [];
  if (sets.some((s) => s.join(' ') !== first.join(' '))) {
    report.findings.push({
      level: 'warning',
      message: `the servers of ${parent} disagree on the NS records of ${zone}: ${delegating
        .map((v) => `${v.server.name}: ${uniqueSorted(v.ns ?? []).join(' ')}`)
        .join('; ')}`,
      fix: [`make every server of ${parent} serve the same NS records for ${zone}`],
    });
  }

  // Every server the parent names must answer for the zone, authoritatively.
  const own = new Set<string>();
  for (const host of report.delegatedTo) {
    let addresses = overrides.has(host)
      ? [(overrides.get(host) as ServerAddress).host]
      : (glue.get(host) ?? []);
    if (addresses.length === 0) {
      addresses = await addressesOf(host, opts.resolver, ask).catch(() => []);
    }
    if (addresses.length === 0) {
      report.servers.push({ name: host, authoritative: false, problem: 'has no address' });
      continue;
    }
    for (const address of [...new Set(addresses)]) {
      const at = reach(host, address);
      const entry: NameServerReport = { name: host, address: formatServer(at), authoritative: false };
      try {
        const soa = await ask(at, zone, 'SOA', false);
        const hasSoa = soa.answers.some((a) => a.type === 'SOA' && a.name === zone);
        if (soa.rcode !== 'NOERROR') entry.problem = `answered ${soa.rcode}`;
        else if (!soa.authoritative || !hasSoa)
          entry.problem = 'answered without the AA bit (not authoritative)';
        else {
          entry.authoritative = true;
          const ns = await ask(at, zone, 'NS', false);
          for (const a of ns.answers) if (a.type === 'NS' && a.name === zone) own.add(a.data);
        }
      } catch (error) {
        entry.problem = `did not answer (${errorMessage(error)})`;
      }
      report.servers.push(entry);
    }
  }
  report.zoneNameServers = uniqueSorted([...own]);
  const lame = report.servers.filter((s) => !s.authoritative);
  if (lame.length > 0) {
    fail(
      `${zone} is delegated to servers that do not serve it: ${lame
        .map((s) => `${s.name}${s.address ? ` (${s.address})` : ''} ${s.problem}`)
        .join('; ')}; a CA asking them fails`,
      report.zoneNameServers.length > 0
        ? [
            `make the NS records for ${zone} in ${parent} name only servers that serve it:`,
            ...lame
              .filter((s) => !report.zoneNameServers.includes(s.name))
              .map((s) => `remove ${nsRecord(zone, s.name)}`),
            ...report.zoneNameServers
              .filter((ns) => !report.delegatedTo.includes(ns))
              .map((ns) => `add ${nsRecord(zone, ns)}`),
          ]
        : [`serve ${zone} on ${lame.map((s) => s.name).join(', ')}, or change its NS records in ${parent}`],
    );
  }
  if (report.zoneNameServers.length > 0) {
    const missingInParent = report.zoneNameServers.filter((ns) => !report.delegatedTo.includes(ns));
    const extraInParent = report.delegatedTo.filter((ns) => !report.zoneNameServers.includes(ns));
    if (lame.length === 0 && (missingInParent.length > 0 || extraInParent.length > 0)) {
      report.findings.push({
        level: 'warning',
        message: `the NS records of ${zone} differ between ${parent} (${report.delegatedTo.join(', ')}) and the zone itself (${report.zoneNameServers.join(', ')})`,
        fix: [
          ...missingInParent.map((ns) => `add to ${parent}: ${nsRecord(zone, ns)}`),
          ...extraInParent.map((ns) => `add to ${zone} (or remove from ${parent}): ${nsRecord(zone, ns)}`),
        ],
      });
    }
  }
  if (!report.findings.some((f) => f.level === 'fail')) {
    report.findings.unshift({
      level: 'ok',
      message: `delegated from ${parent} to ${report.delegatedTo.join(', ')}; ${report.servers
        .map((s) => `${s.name} (${s.address})`)
        .join(', ')} answer${report.servers.length === 1 ? 's' : ''} authoritatively`,
      fix: [],
    });
  }
  return report;
}

type Ask = (server: ServerAddress, name: string, type: QueryType, rd: boolean) => Promise<DnsResponse>;

/** The NS names in a parent server's answer for `zone` (referral or authoritative answer); [] when none. */
function delegationIn(zone: string, r: DnsResponse): string[] {
  if (r.rcode !== 'NOERROR') return [];
  const fromAnswer = r.answers.filter((a) => a.type === 'NS' && a.name === zone);
  const fromAuthority = (r.authority ?? []).filter((a: DnsAnswer) => a.type === 'NS' && a.name === zone);
  return [...fromAnswer, ...fromAuthority].map((a) => a.data);
}

/**
 * The closest enclosing zone of `zone`: the first ancestor whose SOA the resolver returns as an
 * answer owned by that name (RFC 1034 §4.3.2). The root when none is found.
 */
async function findParentZone(zone: string, resolver: ServerAddress, ask: Ask): Promise<string> {
  const labels = zone.split('.');
  for (let i = 1; i < labels.length; i++) {
    const candidate = labels.slice(i).join('.');
    const r = await ask(resolver, candidate, 'SOA', true);
    if (r.rcode !== 'NOERROR' && r.rcode !== 'NXDOMAIN') {
      throw new Error(`resolver ${formatServer(resolver)} answered ${r.rcode} for SOA ${candidate}`);
    }
    if (r.answers.some((a) => a.type === 'SOA' && a.name === candidate)) return candidate;
  }
  return '.';
}

/** The name servers of a zone and their IPv4 addresses, through the resolver. */
async function serversOf(
  zone: string,
  resolver: ServerAddress,
  ask: Ask,
  overrides: Map<string, ServerAddress>,
): Promise<{ name: string; address: string }[]> {
  const hosts = await ownNameServers(zone === '.' ? '' : zone, resolver, ask);
  if (hosts.length === 0) throw new Error(`the resolver returns no NS records for ${zone}`);
  const out: { name: string; address: string }[] = [];
  for (const host of hosts) {
    const known = overrides.get(host);
    const addresses = known ? [known.host] : await addressesOf(host, resolver, ask).catch(() => []);
    for (const address of addresses) {
      out.push({ name: host, address });
    }
  }
  if (out.length === 0) throw new Error(`none of ${hosts.join(', ')} has an address`);
  return out;
}

async function ownNameServers(zone: string, resolver: ServerAddress, ask: Ask): Promise<string[]> {
  const r = await ask(resolver, zone || '.', 'NS', true);
  const owner = canonicalName(zone);
  return uniqueSorted(r.answers.filter((a) => a.type === 'NS' && a.name === owner).map((a) => a.data));
}

async function addressesOf(host: string, resolver: ServerAddress, ask: Ask): Promise<string[]> {
  const r = await ask(resolver, host, 'A', true);
  return r.answers.filter((a) => a.type === 'A').map((a) => a.data);
}
