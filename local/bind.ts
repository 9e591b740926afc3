import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UdpDnsClient } from '../lambdas/adapters/dns/transport/udp-dns-client';
import { canonicalName, isAtOrBelow } from '../lambdas/core/dns/names';
import { LocalServerError } from '../lambdas/core/errors';
import type { ServerAddress } from '../lambdas/core/ports';
import { OWNED_SERVER_SPAWN, ownedServerCommand } from './server-process';

/** A TSIG key for the local BIND (RFC 8945). */
export interface BindTsigKey {
  name: string;
  algorithm: 'hmac-sha256';
  /** base64 */
  secret: string;
}

export interface BindOptions {
  /** Temporary directory for the configuration, zones, journals and the log. Created if missing. */
  directory: string;
  /** Port on 127.0.0.1 (UDP and TCP). */
  port: number;
  /** The primary zone holding the `_acme-challenge` CNAMEs, e.g. `example.test`. Not updatable. */
  primaryZone: string;
  /** The delegated validation zone, e.g. `acme.certflow.test`; the key may write TXT records only here. */
  delegatedZone: string;
  /** CNAMEs in the primary zone, e.g. `_acme-challenge.example.test` → `example.test.acme.certflow.test`. */
  cnames: { name: string; target: string }[];
  tsig: BindTsigKey;
  /** Path of the `named` binary. @default found on PATH, /usr/sbin or /usr/local/sbin */
  namedPath?: string;
  /** How long to wait for both zones to answer. @default 8000 */
  startupTimeoutMs?: number;
  /** Extra records for the primary zone: zone-file lines with absolute owner names (e.g. CAA). */
  primaryRecords?: string[];
  /**
   * Extra records for the delegated zone: zone-file lines with absolute owner names, e.g. an
   * AAAA record for its name server `ns1.<zone>.` beside the A record it always has.
   */
  delegatedRecords?: string[];
  /** More zones, served as they are (not updatable); e.g. the parent zone of the delegated zone. */
  extraZones?: { name: string; records: string[] }[];
  /**
   * Serve the delegated zone from a second named on this port instead, as a separate name server
   * would be (so a parent zone's delegation to it can be checked). The first named then forwards
   * recursive queries for the zone there, so CNAME chains resolve whether or not it is delegated.
   */
  delegatedZonePort?: number;
}

/** A running BIND. */
export interface BindServer {
  address: ServerAddress;
  /** Where the delegated zone is served (and takes updates): `address`, or `delegatedZonePort`. */
  delegatedAddress: ServerAddress;
  /** named's stderr (it runs with `-g`). */
  logFile: string;
  configFile: string;
  stop(): Promise<void>;
}

/** A fresh TSIG secret: 32 random bytes, base64 (RFC 8945 §6: at least the hash length). */
export function generateTsigSecret(): string {
  return randomBytes(32).toString('base64');
}

const INSTALL_HINT = 'apt-get install -y bind9 bind9-dnsutils';

function findNamed(explicit?: string): string {
  const candidates = explicit
    ? [explicit]
    : [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']
        .filter(Boolean)
        .map((d) => join(d, 'named'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new LocalServerError(
    `BIND's named was not found (${candidates.join(', ')}); install it: ${INSTALL_HINT}`,
  );
}

function soa(zone: string): string {
  return [
    '$TTL 60',
    `@ IN SOA ns1.${zone}. hostmaster.${zone}. 1 3600 600 86400 60`,
    `@ IN NS ns1.${zone}.`,
    `ns1.${zone}. IN A 127.0.0.1`,
  ].join('\n');
}

const zoneFile = (name: string): string => `extra-${canonicalName(name)}.zone`;

/** The delegated zone's clause: updatable by the key, TXT only. */
function delegatedZoneClause(opts: BindOptions): string {
  const delegated = canonicalName(opts.delegatedZone);
  return `zone "${delegated}" {
  type primary;
  file "delegated.zone";
  update-policy { grant ${canonicalName(opts.tsig.name)} subdomain ${delegated}. TXT; };
  allow-transfer { 127.0.0.1; };
};`;
}

/** named.conf: loopback only, recursion for loopback with a local root zone, no rndc. */
export function renderNamedConf(opts: BindOptions): string {
  const dir = opts.directory;
  const primary = canonicalName(opts.primaryZone);
  const delegated = canonicalName(opts.delegatedZone);
  const key = canonicalName(opts.tsig.name);
  const delegatedClause =
    opts.delegatedZonePort === undefined
      ? `// The delegated validation zone: the key may write TXT records only, and only here.
${delegatedZoneClause(opts)}`
      : `// The delegated validation zone lives on its own server; recursion reaches it there.
zone "${delegated}" { type forward; forward only; forwarders { 127.0.0.1 port ${opts.delegatedZonePort}; }; };`;
  const extra = (opts.extraZones ?? [])
    .map((z) => `\nzone "${canonicalName(z.name)}" { type primary; file "${zoneFile(z.name)}"; };`)
    .join('');
  return `options {
  directory "${dir}";
  pid-file "${join(dir, 'named.pid')}";
  session-keyfile "${join(dir, 'session.key')}";
  managed-keys-directory "${dir}";
  dump-file "${join(dir, 'named_dump.db')}";
  statistics-file "${join(dir, 'named.stats')}";
  listen-on port ${opts.port} { 127.0.0.1; };
  listen-on-v6 { none; };
  allow-query { 127.0.0.1; };
  recursion yes;
  allow-recursion { 127.0.0.1; };
  allow-transfer { none; };
  dnssec-validation no;
  notify no;
  empty-zones-enable no;
  minimal-responses no;
};

controls { };

key "${key}" {
  algorithm ${opts.tsig.algorithm};
  secret "${opts.tsig.secret}";
};

// A local root zone: recursion answers from here, so nothing ever leaves loopback.
zone "." { type primary; file "root.zone"; };

// The primary zone: nobody may update it.
zone "${primary}" { type primary; file "primary.zone"; };

${delegatedClause}
${extra}`.replace(/\n$/, '\n');
}

/** named.conf of the second server (see {@link BindOptions.delegatedZonePort}): the delegated zone only. */
export function renderDelegatedNamedConf(opts: BindOptions, directory: string, port: number): string {
  return `options {
  directory "${directory}";
  pid-file "${join(directory, 'named.pid')}";
  session-keyfile "${join(directory, 'session.key')}";
  managed-keys-directory "${directory}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  allow-query { 127.0.0.1; };
  recursion no;
  allow-transfer { none; };
  dnssec-validation no;
  notify no;
  empty-zones-enable no;
  minimal-responses no;
};

controls { };

key "${canonicalName(opts.tsig.name)}" {
  algorithm ${opts.tsig.algorithm};
  secret "${opts.tsig.secret}";
};

${delegatedZoneClause(opts)}
`;
}

function writeZones(opts: BindOptions): void {
  const primary = canonicalName(opts.primaryZone);
  const delegated = canonicalName(opts.delegatedZone);
  for (const c of opts.cnames) {
    if (!isAtOrBelow(c.name, primary)) {
      throw new LocalServerError(`CNAME ${c.name} is not in the primary zone ${primary}`);
    }
  }
  const root = [
    '$TTL 60',
    '@ IN SOA a.root-servers.local. hostmaster.root-servers.local. 1 3600 600 86400 60',
    '@ IN NS a.root-servers.local.',
    'a.root-servers.local. IN A 127.0.0.1',
  ].join('\n');
  const cnames = opts.cnames.map((c) => `${canonicalName(c.name)}. IN CNAME ${canonicalName(c.target)}.`);
  writeFileSync(join(opts.directory, 'root.zone'), `${root}\n`);
  writeFileSync(
    join(opts.directory, 'primary.zone'),
    `${[soa(primary), ...cnames, ...(opts.primaryRecords ?? [])].join('\n')}\n`,
  );
  writeFileSync(
    join(delegatedDirectory(opts), 'delegated.zone'),
    `${[soa(delegated), ...(opts.delegatedRecords ?? [])].join('\n')}\n`,
  );
  for (const z of opts.extraZones ?? []) {
    writeFileSync(
      join(opts.directory, zoneFile(z.name)),
      `${[soa(canonicalName(z.name)), ...z.records].join('\n')}\n`,
    );
  }
}

/** Where the delegated zone's files live: the main directory, or the second server's. */
function delegatedDirectory(opts: BindOptions): string {
  return opts.delegatedZonePort === undefined ? opts.directory : join(opts.directory, 'delegated');
}

function logTail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, 5000)) return;
  child.kill('SIGKILL');
  await waitForExit(child, 5000);
}

/** A running named, started by {@link launchNamed}. */
interface NamedProcess {
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Run `named -g` (foreground) with `configFile` and wait until it answers SOA, authoritatively,
 * for every zone in `zones` at `address`.
 */
async function launchNamed(
  named: string,
  directory: string,
  configFile: string,
  address: ServerAddress,
  zones: string[],
  timeoutMs: number,
): Promise<NamedProcess> {
  const logFile = join(directory, 'named.log');
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // Owned by this process: its own process group (Ctrl-C must not stop named before an
    // interrupted run has removed its TXT values; the run stops it), and it dies with us.
    const command = ownedServerCommand(named, ['-g', '-4', '-n', '1', '-c', configFile]);
    child = spawn(command.command, command.args, {
      stdio: ['ignore', logFd, logFd],
      cwd: directory,
      ...OWNED_SERVER_SPAWN,
    });
  } finally {
    closeSync(logFd);
  }
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  const fail = async (why: string, cause?: unknown): Promise<never> => {
    await kill(child);
    throw new LocalServerError(
      `BIND did not start on ${address.host}:${address.port}: ${why}\n${logTail(logFile)}`,
      {
        cause,
      },
    );
  };

  const client = new UdpDnsClient({ retries: 0, timeoutMs: 250 });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError !== undefined) return fail(spawnError.message, spawnError);
    if (child.exitCode !== null || child.signalCode !== null) {
      return fail(`named exited (${child.exitCode ?? child.signalCode})`);
    }
    const answers = await Promise.all(
      zones.map((zone) =>
        client.query(address, zone, 'SOA').then(
          (r) => r.rcode === 'NOERROR' && r.authoritative && r.answers.some((a) => a.type === 'SOA'),
          () => false,
        ),
      ),
    );
    if (answers.every(Boolean)) break;
    if (Date.now() > deadline) return fail('it did not answer SOA for every zone in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { logFile, stop: () => kill(child) };
}

/**
 * Start a real BIND 9 (`named -g`, foreground) on 127.0.0.1:`port` for local mode and tests:
 * the primary zone with the `_acme-challenge` CNAMEs (not updatable), and the delegated zone,
 * where the TSIG key may add and delete TXT records only (RFC 2136 UPDATE, `update-policy`).
 * Recursion is on for loopback so a resolver query (as Pebble makes) follows the CNAME into the
 * delegated zone; a local root zone keeps every lookup on loopback. With `delegatedZonePort`, the
 * delegated zone is served by a second named on that port (see {@link BindOptions}).
 *
 * @throws LocalServerError when named is missing, exits, or does not answer SOA for its zones in time
 *   (with the tail of its log).
 */
export async function startBind(opts: BindOptions): Promise<BindServer> {
  const named = findNamed(opts.namedPath);
  mkdirSync(opts.directory, { recursive: true });
  mkdirSync(delegatedDirectory(opts), { recursive: true });
  writeZones(opts);
  const configFile = join(opts.directory, 'named.conf');
  writeFileSync(configFile, renderNamedConf(opts), { mode: 0o600 });
  const address: ServerAddress = { host: '127.0.0.1', port: opts.port };
  const timeoutMs = opts.startupTimeoutMs ?? 8000;
  const separate = opts.delegatedZonePort !== undefined;
  const delegatedAddress: ServerAddress = { host: '127.0.0.1', port: opts.delegatedZonePort ?? opts.port };
  let second: NamedProcess | undefined;
  if (opts.delegatedZonePort !== undefined) {
    const directory = delegatedDirectory(opts);
    const secondConfig = join(directory, 'named.conf');
    writeFileSync(secondConfig, renderDelegatedNamedConf(opts, directory, opts.delegatedZonePort), {
      mode: 0o600,
    });
    second = await launchNamed(
      named,
      directory,
      secondConfig,
      delegatedAddress,
      [canonicalName(opts.delegatedZone)],
      timeoutMs,
    );
  }
  const zones = [
    canonicalName(opts.primaryZone),
    ...(separate ? [] : [canonicalName(opts.delegatedZone)]),
    ...(opts.extraZones ?? []).map((z) => canonicalName(z.name)),
  ];
  let main: NamedProcess;
  try {
    main = await launchNamed(named, opts.directory, configFile, address, zones, timeoutMs);
  } catch (error) {
    await second?.stop();
    throw error;
  }
  return {
    address,
    delegatedAddress,
    logFile: main.logFile,
    configFile,
    stop: async () => {
      await main.stop();
      await second?.stop();
    },
  };
}
