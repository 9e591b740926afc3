import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UdpDnsClient } from '../../lambdas/core/dns/dns-client';
import { isAtOrBelow } from '../../lambdas/core/dns/names';
import { LocalServerError } from '../../lambdas/core/errors';
import type { ServerAddress } from '../../lambdas/core/ports';

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
}

/** A running BIND. */
export interface BindServer {
  address: ServerAddress;
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

const bare = (name: string): string => name.toLowerCase().replace(/\.$/, '');

function soa(zone: string): string {
  return [
    '$TTL 60',
    `@ IN SOA ns1.${zone}. hostmaster.${zone}. 1 3600 600 86400 60`,
    `@ IN NS ns1.${zone}.`,
    `ns1.${zone}. IN A 127.0.0.1`,
  ].join('\n');
}

/** named.conf: loopback only, recursion for loopback with a local root zone, no rndc. */
export function renderNamedConf(opts: BindOptions): string {
  const dir = opts.directory;
  const primary = bare(opts.primaryZone);
  const delegated = bare(opts.delegatedZone);
  const key = bare(opts.tsig.name);
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

// The delegated validation zone: the key may write TXT records only, and only here.
zone "${delegated}" {
  type primary;
  file "delegated.zone";
  update-policy { grant ${key} subdomain ${delegated}. TXT; };
  allow-transfer { 127.0.0.1; };
};
`;
}

function writeZones(opts: BindOptions): void {
  const primary = bare(opts.primaryZone);
  const delegated = bare(opts.delegatedZone);
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
  const cnames = opts.cnames.map((c) => `${bare(c.name)}. IN CNAME ${bare(c.target)}.`);
  writeFileSync(join(opts.directory, 'root.zone'), `${root}\n`);
  writeFileSync(join(opts.directory, 'primary.zone'), `${[soa(primary), ...cnames].join('\n')}\n`);
  writeFileSync(join(opts.directory, 'delegated.zone'), `${soa(delegated)}\n`);
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

/**
 * Start a real BIND 9 (`named -g`, foreground) on 127.0.0.1:`port` for local mode and tests:
 * the primary zone with the `_acme-challenge` CNAMEs (not updatable), and the delegated zone,
 * where the TSIG key may add and delete TXT records only (RFC 2136 UPDATE, `update-policy`).
 * Recursion is on for loopback so a resolver query (as Pebble makes) follows the CNAME into the
 * delegated zone; a local root zone keeps every lookup on loopback.
 *
 * @throws LocalServerError when named is missing, exits, or does not answer SOA for both zones in time
 *   (with the tail of its log).
 */
export async function startBind(opts: BindOptions): Promise<BindServer> {
  const named = findNamed(opts.namedPath);
  mkdirSync(opts.directory, { recursive: true });
  writeZones(opts);
  const configFile = join(opts.directory, 'named.conf');
  writeFileSync(configFile, renderNamedConf(opts), { mode: 0o600 });
  const logFile = join(opts.directory, 'named.log');
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(named, ['-g', '-4', '-n', '1', '-c', configFile], {
      stdio: ['ignore', logFd, logFd],
      cwd: opts.directory,
    });
  } finally {
    closeSync(logFd);
  }
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  const address: ServerAddress = { host: '127.0.0.1', port: opts.port };
  const fail = async (why: string, cause?: unknown): Promise<never> => {
    await kill(child);
    throw new LocalServerError(
      `BIND did not start on ${address.host}:${opts.port}: ${why}\n${logTail(logFile)}`,
      {
        cause,
      },
    );
  };

  const client = new UdpDnsClient({ retries: 0, timeoutMs: 250 });
  const zones = [bare(opts.primaryZone), bare(opts.delegatedZone)];
  const deadline = Date.now() + (opts.startupTimeoutMs ?? 8000);
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
    if (Date.now() > deadline) return fail('it did not answer SOA for both zones in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    address,
    logFile,
    configFile,
    stop: () => kill(child),
  };
}
