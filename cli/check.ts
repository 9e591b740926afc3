import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LocalFileAccountStore } from '../lambdas/adapters/account/local-file-account-store';
import { systemResolver, UdpDnsClient } from '../lambdas/adapters/dns/transport/udp-dns-client';
import type { CaaIdentities } from '../lambdas/core/acme/caa-identities';
import type { CertflowConfig } from '../lambdas/core/config/schema';
import { evaluateCaa, lookupRelevantCaa, type RelevantCaa } from '../lambdas/core/dns/caa';
import { resolveDelegation } from '../lambdas/core/dns/delegation';
import { type DnsClient, formatServer, parseServerAddress } from '../lambdas/core/dns/dns-client';
import { baseName, canonicalName, challengeName, delegationRecord } from '../lambdas/core/dns/names';
import { checkZoneDelegation, type ZoneDelegationReport } from '../lambdas/core/dns/zone-delegation';
import { DelegationError, describeError, UsageError } from '../lambdas/core/errors';
import type { ServerAddress } from '../lambdas/core/ports';
import { configuredCaaIdentities } from './ca-identities';
import { type CliIO, EXIT, loadConfig, mapLimit, processIO, runCommand, type StackOptions } from './common';
import { validationZoneNameServers } from './nameservers';

/**
 * `certflow check`: ask live DNS, through the configured resolver, whether each configured name
 * would pass dns-01 validation through the delegation: its `_acme-challenge` CNAME (chain) lands
 * in the validation zone, the validation zone is delegated to servers that serve it, and CAA
 * (RFC 8659, with RFC 8657 parameters) lets the configured CA issue. Every problem carries the
 * exact record to add or change.
 */

export interface CheckOptions extends StackOptions {
  config: string;
  json?: boolean;
  /** `<ns-name>=<host:port>`: reach that name server there instead of its address on port 53. */
  nameserver?: string[];
  /** The CA's CAA identifiers, instead of the directory's `meta.caaIdentities`. */
  caaIdentity?: string[];
  /** The ACME account URL, to check RFC 8657 `accounturi` (default: the local mode account, if any). */
  accountUri?: string;
  /** Local mode's work directory, where the local account is. @default ".certflow-local" */
  workdir?: string;
  /** Skip every AWS call (only used to name the validation zone's servers in a fix). */
  aws?: boolean;
  timeoutMs?: number;
  /** Names checked at once. @default 8 */
  concurrency?: number;
}

export type Level = 'ok' | 'warning' | 'fail';

/** One finding about one name (JSON: `names[].checks[]`). */
export interface NameCheck {
  check: 'cname' | 'zone' | 'caa';
  level: Level;
  message: string;
  /** Records to add or change, zone-file form (empty when nothing is to be done). */
  fix: string[];
  /** cname: the targets followed, in order. */
  chain?: string[];
}

/** The result for one configured name (JSON: `names[]`). */
export interface NameReport {
  name: string;
  certificates: string[];
  level: Level;
  checks: NameCheck[];
}

/** The whole `certflow check --json` document. */
export interface CheckReport {
  ok: boolean;
  config: string;
  resolver: string;
  zone: ZoneDelegationReport & { level: Level };
  ca: CaaIdentities & { accountUri?: string; accountUriSource?: string };
  names: NameReport[];
  summary: { names: number; ok: number; warnings: number; failing: number };
}

export async function checkCommand(opts: CheckOptions, io: CliIO = processIO): Promise<number> {
  return runCommand(io, opts.json === true, async () => {
    const config = loadConfig(opts.config);
    const report = await runChecks(config, opts);
    if (opts.json) io.out(JSON.stringify(report, null, 2));
    else printReport(report, io);
    return report.ok ? EXIT.ok : EXIT.problem;
  });
}

function parseNameServerOverrides(values: string[] | undefined): Record<string, ServerAddress> {
  const out: Record<string, ServerAddress> = {};
  for (const value of values ?? []) {
    const m = /^([^=\s]+)=(\S+)$/.exec(value);
    if (!m)
      throw new UsageError(
        `--nameserver "${value}": write <ns-name>=<host:port>, e.g. ns1.example.net=192.0.2.1:53`,
      );
    try {
      out[canonicalName(m[1] ?? '')] = parseServerAddress(m[2] ?? '');
    } catch (error) {
      throw new UsageError(`--nameserver "${value}": ${describeError(error)}`);
    }
  }
  return out;
}

async function localAccountUri(config: CertflowConfig, workdir: string): Promise<string | undefined> {
  const state = join(workdir, 'state');
  if (!existsSync(state)) return undefined;
  const account = await new LocalFileAccountStore({ directory: state })
    .load(config.acme.directoryUrl)
    .catch(() => undefined);
  return account?.accountUrl;
}

/** Run every check; never throws for DNS failures (they are findings). */
export async function runChecks(
  config: CertflowConfig,
  opts: Omit<CheckOptions, 'config' | 'json'> & { config?: string },
): Promise<CheckReport> {
  const client: DnsClient = new UdpDnsClient({ timeoutMs: opts.timeoutMs ?? 2000 });
  const resolver = config.delegation.resolver
    ? parseServerAddress(config.delegation.resolver)
    : systemResolver();
  const zone = config.delegation.zone;
  const nameServerAddresses = parseNameServerOverrides(opts.nameserver);

  let accountUri = opts.accountUri;
  let accountUriSource = accountUri ? '--account-uri' : undefined;
  if (!accountUri) {
    accountUri = await localAccountUri(config, opts.workdir ?? '.certflow-local');
    if (accountUri)
      accountUriSource = `the local account in ${join(opts.workdir ?? '.certflow-local', 'state')}`;
  }
  const [ca, zoneReport] = await Promise.all([
    configuredCaaIdentities(config, opts.caaIdentity),
    checkZoneDelegation({
      zone,
      resolver,
      client,
      nameServerAddresses,
      timeoutMs: opts.timeoutMs,
      expectedNameServers: async () => {
        const found = await validationZoneNameServers(config, { ...opts, aws: opts.aws !== false, client });
        return found.nameServers.length > 0
          ? { nameServers: found.nameServers, source: found.source ?? '' }
          : undefined;
      },
    }),
  ]);

  // One entry per configured name, in config order, with the certificates that use it.
  const identifiers = new Map<string, string[]>();
  for (const cert of config.certificates) {
    for (const domain of cert.domains)
      identifiers.set(domain, [...(identifiers.get(domain) ?? []), cert.name]);
  }
  const cnames = new Map<string, Promise<NameCheck>>();
  const caas = new Map<string, Promise<RelevantCaa | Error>>();
  const cnameOf = (domain: string): Promise<NameCheck> => {
    const key = baseName(domain);
    let p = cnames.get(key);
    if (!p) {
      p = checkCname(key, zone, resolver, client, opts.timeoutMs);
      cnames.set(key, p);
    }
    return p;
  };
  const caaOf = (domain: string): Promise<RelevantCaa | Error> => {
    const key = baseName(domain);
    let p = caas.get(key);
    if (!p) {
      p = lookupRelevantCaa(key, { resolver, client, timeoutMs: opts.timeoutMs }).catch((e: unknown) =>
        e instanceof Error ? e : new Error(String(e)),
      );
      caas.set(key, p);
    }
    return p;
  };

  const zoneLevel = worst(zoneReport.findings.map((f) => f.level));
  const zoneCheck: NameCheck = {
    check: 'zone',
    level: zoneLevel,
    message:
      zoneLevel === 'ok'
        ? `${zone} is delegated to ${zoneReport.delegatedTo.join(', ')}, and answered for there`
        : zoneLevel === 'warning'
          ? `${zone} is delegated and served, with the warnings above`
          : `${zone} cannot be reached from the parent zone; see the validation zone above`,
    fix: [],
  };
  const names = await mapLimit(
    [...identifiers.entries()],
    opts.concurrency ?? 8,
    async ([domain, certificates]) => {
      const checks: NameCheck[] = [await cnameOf(domain), zoneCheck];
      const relevant = await caaOf(domain);
      checks.push(caaCheck(domain, relevant, ca, accountUri));
      return { name: domain, certificates, level: worst(checks.map((c) => c.level)), checks };
    },
  );

  const failing = names.filter((n) => n.level === 'fail').length;
  return {
    ok: zoneLevel !== 'fail' && failing === 0,
    config: opts.config ?? '',
    resolver: formatServer(resolver),
    zone: { ...zoneReport, level: zoneLevel },
    ca: { ...ca, ...(accountUri ? { accountUri, accountUriSource } : {}) },
    names,
    summary: {
      names: names.length,
      ok: names.filter((n) => n.level === 'ok').length,
      warnings: names.filter((n) => n.level === 'warning').length,
      failing,
    },
  };
}

async function checkCname(
  base: string,
  zone: string,
  resolver: ServerAddress,
  client: DnsClient,
  timeoutMs?: number,
): Promise<NameCheck> {
  const start = challengeName(base);
  try {
    const d = await resolveDelegation(base, { zone, resolver, client, timeoutMs });
    if (d.chain.length === 0) {
      return {
        check: 'cname',
        level: 'ok',
        message: `${start} is inside the validation zone ${zone}`,
        fix: [],
        chain: [],
      };
    }
    return {
      check: 'cname',
      level: 'ok',
      message: `${[start, ...d.chain].join(' → ')} (in ${zone})`,
      fix: [],
      chain: d.chain,
    };
  } catch (error) {
    if (error instanceof DelegationError) {
      const wanted = delegationRecord(base, zone);
      const [first] = error.chain;
      if (first === undefined) {
        return {
          check: 'cname',
          level: 'fail',
          message: `${start} has no CNAME into the validation zone ${zone}`,
          fix: [`add to the primary zone: ${wanted}`],
          chain: [],
        };
      }
      const path = [start, ...error.chain].join(' → ');
      const why = error.message.split('; add to the primary zone:')[0] ?? error.message;
      return {
        check: 'cname',
        level: 'fail',
        message: /loop|longer than/.test(why)
          ? `${path}: ${why.replace(`${start} `, '')}`
          : `${path} ends outside the validation zone ${zone}`,
        fix: [`change ${start}. CNAME ${first}. to: ${wanted}`],
        chain: error.chain,
      };
    }
    return {
      check: 'cname',
      level: 'fail',
      message: `cannot look up ${start}: ${describeError(error)}`,
      fix: [],
    };
  }
}

function caaCheck(
  domain: string,
  relevant: RelevantCaa | Error,
  ca: CaaIdentities,
  accountUri: string | undefined,
): NameCheck {
  if (relevant instanceof Error) {
    return {
      check: 'caa',
      level: 'fail',
      message: `the CAA lookup failed (${describeError(relevant)}); a CA refuses to issue when it cannot look CAA up (RFC 8659 §3)`,
      fix: [],
    };
  }
  if (relevant.records.length > 0 && ca.identities.length === 0) {
    return {
      check: 'caa',
      level: 'warning',
      message: `CAA at ${relevant.owner} restricts issuance, but the CA's CAA identifier is unknown (${ca.note})`,
      fix: [],
    };
  }
  const verdict = evaluateCaa({ domain, relevant, caIdentities: ca.identities, accountUri });
  return {
    check: 'caa',
    level: verdict.status === 'permitted' ? 'ok' : verdict.status === 'unknown' ? 'warning' : 'fail',
    message: verdict.message,
    fix: verdict.fix,
  };
}

function worst(levels: Level[]): Level {
  if (levels.includes('fail')) return 'fail';
  if (levels.includes('warning')) return 'warning';
  return 'ok';
}

const LABEL: Record<Level, string> = { ok: 'ok  ', warning: 'WARN', fail: 'FAIL' };
const CHECK_LABEL: Record<NameCheck['check'], string> = { cname: 'CNAME', zone: 'ZONE ', caa: 'CAA  ' };

function printReport(report: CheckReport, io: CliIO): void {
  const { zone, ca } = report;
  io.out(`certflow check: ${report.config}`);
  io.out(`  resolver ${report.resolver}; validation zone ${zone.zone}`);
  io.out(
    `  CA identifiers: ${ca.identities.length ? ca.identities.join(', ') : '(unknown)'} (${ca.note})${
      ca.accountUri ? `; account ${ca.accountUri} (${ca.accountUriSource})` : ''
    }`,
  );
  io.out('');
  io.out(`validation zone ${zone.zone}`);
  for (const f of zone.findings) {
    io.out(`  ${LABEL[f.level]}  ${f.message}`);
    for (const line of f.fix) io.out(`        ${line}`);
  }
  for (const n of report.names) {
    io.out('');
    io.out(`${n.name}  [${n.certificates.join(', ')}]`);
    for (const c of n.checks) {
      io.out(`  ${LABEL[c.level]}  ${CHECK_LABEL[c.check]}  ${c.message}`);
      for (const line of c.fix) io.out(`               ${line}`);
    }
  }
  io.out('');
  const s = report.summary;
  io.out(
    `${s.names} name${s.names === 1 ? '' : 's'}: ${s.ok} ok, ${s.warnings} with warnings, ${s.failing} would fail to validate`,
  );
}
