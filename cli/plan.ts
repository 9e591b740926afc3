import { UdpDnsClient } from '../lambdas/adapters/dns/transport/udp-dns-client';
import type { CaaIdentities } from '../lambdas/core/acme/caa-identities';
import type { CertflowConfig } from '../lambdas/core/config/schema';
import { caaRecordText } from '../lambdas/core/dns/caa';
import {
  baseName,
  challengeName,
  delegationRecord,
  isAtOrBelow,
  suggestedDelegationTarget,
} from '../lambdas/core/dns/names';
import { configuredCaaIdentities } from './ca-identities';
import { type CliIO, EXIT, loadConfig, processIO, runCommand, type StackOptions } from './common';
import { validationZoneNameServers } from './nameservers';

/**
 * `certflow plan`: every DNS record the operator must create for the configured names, in
 * zone-file form: the `_acme-challenge` CNAMEs in the primary zones, the NS delegation of the
 * validation zone in its parent, and CAA records that allow the configured CA (RFC 8659).
 */

export interface PlanOptions extends StackOptions {
  config: string;
  json?: boolean;
  /** Look up the validation zone's name servers on AWS (stack outputs, Route 53). @default true */
  aws?: boolean;
  /** The CA's CAA identifiers, instead of the directory's `meta.caaIdentities`. */
  caaIdentity?: string[];
}

/** One `_acme-challenge` CNAME (JSON: `cnames[]`). */
export interface PlannedCname {
  /** The primary zone (a `delegation.domains` entry) it goes in. */
  zone: string;
  owner: string;
  target: string;
  record: string;
  /** The configured names it serves (apex and wildcard share one). */
  names: string[];
}

/** One CAA record (JSON: `caa.records[]`). */
export interface PlannedCaa {
  owner: string;
  tag: 'issue' | 'issuewild';
  value: string;
  record: string;
  /** When it is needed. */
  when: string;
}

/** The whole `certflow plan --json` document. */
export interface PlanReport {
  config: string;
  cnames: PlannedCname[];
  /** Names inside the validation zone itself need no CNAME. */
  inZone: string[];
  delegation: {
    zone: string;
    parent: string;
    nameServers: string[];
    records: string[];
    /** Where the name servers came from. */
    source?: string;
    /** Why they are not known, and where to get them. */
    unknown?: string;
  };
  caa: CaaIdentities & { records: PlannedCaa[] };
}

export async function planCommand(opts: PlanOptions, io: CliIO = processIO): Promise<number> {
  return runCommand(io, opts.json === true, async () => {
    const config = loadConfig(opts.config);
    const report = await buildPlan(config, opts);
    if (opts.json) io.out(JSON.stringify(report, null, 2));
    else printPlan(report, io);
    return EXIT.ok;
  });
}

/** The primary zone (longest `delegation.domains` entry) a name is under; undefined inside the validation zone. */
function primaryZoneOf(config: CertflowConfig, name: string): string | undefined {
  return config.delegation.domains.filter((d) => isAtOrBelow(name, d)).sort((a, b) => b.length - a.length)[0];
}

export async function buildPlan(
  config: CertflowConfig,
  opts: Omit<PlanOptions, 'json'>,
): Promise<PlanReport> {
  const zone = config.delegation.zone;
  const cnames = new Map<string, PlannedCname>();
  const inZone: string[] = [];
  /** CAA owner → whether a wildcard is requested under it. */
  const caaOwners = new Map<string, boolean>();
  for (const cert of config.certificates) {
    for (const domain of cert.domains) {
      const base = baseName(domain);
      const primary = primaryZoneOf(config, base);
      caaOwners.set(primary ?? zone, (caaOwners.get(primary ?? zone) ?? false) || domain.startsWith('*.'));
      if (!primary) {
        if (!inZone.includes(domain)) inZone.push(domain);
        continue;
      }
      const owner = challengeName(base);
      const entry = cnames.get(owner) ?? {
        zone: primary,
        owner,
        target: suggestedDelegationTarget(base, zone),
        record: delegationRecord(base, zone),
        names: [],
      };
      if (!entry.names.includes(domain)) entry.names.push(domain);
      cnames.set(owner, entry);
    }
  }

  const [servers, ca] = await Promise.all([
    validationZoneNameServers(config, {
      ...opts,
      aws: opts.aws !== false,
      client: new UdpDnsClient({ retries: 1 }),
    }),
    configuredCaaIdentities(config, opts.caaIdentity),
  ]);
  const identity = ca.identities[0];
  const records: PlannedCaa[] = [];
  if (identity) {
    for (const [owner, wildcard] of caaOwners) {
      records.push({
        owner,
        tag: 'issue',
        value: identity,
        record: caaRecordText(owner, 'issue', identity),
        when: `if ${owner} or a parent has CAA records (with none, every CA may issue; adding one limits issuance to the CAs listed)`,
      });
      if (wildcard) {
        records.push({
          owner,
          tag: 'issuewild',
          value: identity,
          record: caaRecordText(owner, 'issuewild', identity),
          when: `if the CAA records of ${owner} include issuewild: they alone then decide who may issue wildcards (RFC 8659 §4.3)`,
        });
      }
    }
  }
  return {
    config: opts.config,
    cnames: [...cnames.values()],
    inZone,
    delegation: {
      zone,
      parent: zone.split('.').slice(1).join('.'),
      nameServers: servers.nameServers,
      records: servers.nameServers.map((ns) => `${zone}. NS ${ns}.`),
      ...(servers.source ? { source: servers.source } : {}),
      ...('unknown' in servers ? { unknown: servers.unknown } : {}),
    },
    caa: { ...ca, records },
  };
}

function printPlan(plan: PlanReport, io: CliIO): void {
  io.out(`certflow plan: ${plan.config}`);
  io.out('Create these records once; certflow never writes to these zones. `certflow check` verifies them.');
  io.out('');
  io.out("1. In each primary zone, one CNAME per name (a wildcard shares its base name's):");
  const width = Math.max(0, ...plan.cnames.map((c) => c.owner.length + 1));
  const zones = [...new Set(plan.cnames.map((c) => c.zone))];
  for (const zone of zones) {
    io.out(`   ; zone ${zone}`);
    for (const c of plan.cnames.filter((x) => x.zone === zone)) {
      io.out(`   ${`${c.owner}.`.padEnd(width)}  CNAME  ${c.target}.   ; ${c.names.join(', ')}`);
    }
  }
  if (plan.inZone.length > 0) {
    io.out(`   (no CNAME for ${plan.inZone.join(', ')}: inside the validation zone itself)`);
  }
  io.out('');
  const d = plan.delegation;
  io.out(`2. In the parent zone ${d.parent}, delegate the validation zone ${d.zone}:`);
  if (d.records.length > 0) {
    for (const r of d.records) io.out(`   ${r}`);
    io.out(`   ; name servers from ${d.source}`);
  } else {
    io.out(`   ${d.zone}. NS <each name server of ${d.zone}>.`);
    io.out(`   ; the name servers are not known here: ${d.unknown}`);
  }
  io.out('');
  const ca = plan.caa;
  if (ca.records.length === 0) {
    io.out(`3. CAA: the CA's CAA identifier is not known (${ca.note}).`);
    return;
  }
  io.out(`3. CAA (RFC 8659), to let ${ca.identities[0]} issue where CAA records restrict issuance:`);
  for (const r of ca.records) io.out(`   ${r.record}   ; ${r.when}`);
  io.out(
    `   ; CA identifier${ca.identities.length === 1 ? '' : 's'} ${ca.identities.join(', ')}: ${ca.note}`,
  );
}
