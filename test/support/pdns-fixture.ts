/**
 * PowerDNS Authoritative Server for tests: `pdns_server` with the gsqlite3 backend, its
 * configuration, database and control socket in a temporary directory, on a free loopback port,
 * with no daemon, no guardian, no syslog and no security poll (nothing leaves loopback). It runs
 * as whoever runs the tests (it changes user only when `setuid` is set).
 *
 * The TSIG key is made by PowerDNS's own `pdnsutil generate-tsig-key`; the delegated zone has
 * TSIG-ALLOW-DNSUPDATE and ALLOW-DNSUPDATE-FROM metadata, and a `lua-dnsupdate-policy-script`
 * lets the key change TXT records in the delegated zone only. With a Lua policy PowerDNS ignores
 * the metadata (https://doc.powerdns.com/authoritative/dnsupdate.html, "How it works", step 4),
 * so the script checks the key name itself.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TsigKey } from '../../lambdas/adapters/dns/rfc2136/tsig';
import type { ServerAddress } from '../../lambdas/core/ports';
import { freeDnsPort } from '../../local/ports';
import {
  DELEGATED_ZONE,
  DEMO_CNAMES,
  KEY_NAME,
  PRIMARY_ZONE,
  type TestDnsServer,
  txtReaders,
} from './dns-fixture';
import { onFreePort, requireProgram, spawnDaemon, waitForZones } from './dns-process';

const SCHEMA = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';

export interface TestPowerDns extends TestDnsServer {
  /** The key file exactly as `pdnsutil generate-tsig-key certflow-acme hmac-sha256` printed it. */
  keyFile: string;
  /** The directory holding pdns.conf (for `pdnsutil --config-dir`). */
  configDir: string;
  /** Run pdnsutil against this server's database; returns its stdout. */
  pdnsutil(...args: string[]): string;
}

/** The default update policy: key certflow-acme may change TXT records in the delegated zone only. */
export function defaultUpdatePolicy(): string {
  return `-- certflow: key ${KEY_NAME} may add and delete TXT records in ${DELEGATED_ZONE}, nothing else.
function updatepolicy(request)
  return request:getTsigName():equal("${KEY_NAME}")
    and request:getZoneName():equal("${DELEGATED_ZONE}")
    and request:getQType() == pdns.TXT
end
`;
}

function renderPdnsConf(opts: { directory: string; port: number; policyFile?: string }): string {
  return `launch=gsqlite3
gsqlite3-database=${join(opts.directory, 'pdns.sqlite3')}
local-address=127.0.0.1
local-port=${opts.port}
socket-dir=${opts.directory}
daemon=no
guardian=no
disable-syslog=yes
write-pid=no
security-poll-suffix=
receiver-threads=1
distributor-threads=1
loglevel=6
dnsupdate=yes
allow-dnsupdate-from=
${opts.policyFile === undefined ? '' : `lua-dnsupdate-policy-script=${opts.policyFile}\n`}`;
}

const sqlText = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The demo zones as gsqlite3 rows (names lowercase without the trailing dot). */
function zoneSql(cnames: { name: string; target: string }[]): string {
  const rows: [number, string, string, string][] = [];
  for (const [id, zone] of [
    [1, PRIMARY_ZONE],
    [2, DELEGATED_ZONE],
  ] as const) {
    rows.push([id, zone, 'SOA', `ns1.${zone} hostmaster.${zone} 1 3600 600 86400 60`]);
    rows.push([id, zone, 'NS', `ns1.${zone}`]);
    rows.push([id, `ns1.${zone}`, 'A', '127.0.0.1']);
  }
  for (const c of cnames) rows.push([1, c.name, 'CNAME', c.target]);
  return [
    `INSERT INTO domains (id, name, type) VALUES (1, ${sqlText(PRIMARY_ZONE)}, 'NATIVE'), (2, ${sqlText(DELEGATED_ZONE)}, 'NATIVE');`,
    ...rows.map(
      ([id, name, type, content]) =>
        `INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled, auth) VALUES (${id}, ${sqlText(name)}, ${sqlText(type)}, ${sqlText(content)}, 60, 0, 0, 1);`,
    ),
    `INSERT INTO domainmetadata (domain_id, kind, content) VALUES (2, 'TSIG-ALLOW-DNSUPDATE', ${sqlText(KEY_NAME)});`,
    `INSERT INTO domainmetadata (domain_id, kind, content) VALUES (2, 'ALLOW-DNSUPDATE-FROM', '127.0.0.1/32');`,
  ].join('\n');
}

/** A PowerDNS directory: pdns.conf, the gsqlite3 database with the demo zones, and pdnsutil for it. */
export interface PowerDnsDirectory {
  directory: string;
  configFile: string;
  /** The Lua update policy, if there is one. */
  policyFile?: string;
  /** Run pdnsutil against this database; returns its stdout. */
  pdnsutil(...args: string[]): string;
  /** Write pdns.conf for `port`. */
  configure(port: number): void;
}

/**
 * Create pdns.conf and the gsqlite3 database (schema from the Debian package, the demo zones,
 * the update metadata) in `directory`, without starting the server.
 */
export function preparePowerDnsDirectory(
  directory: string,
  opts: { updatePolicy?: string | null; extraCnames?: { name: string; target: string }[] } = {},
): PowerDnsDirectory {
  const pdnsutilPath = requireProgram('pdnsutil', 'pdns-server');
  const sqlite3 = requireProgram('sqlite3', 'sqlite3');
  const policyFile = opts.updatePolicy === null ? undefined : join(directory, 'update-policy.lua');
  if (policyFile !== undefined) writeFileSync(policyFile, opts.updatePolicy ?? defaultUpdatePolicy());
  const configFile = join(directory, 'pdns.conf');
  const configure = (port: number): void =>
    writeFileSync(configFile, renderPdnsConf({ directory, port, policyFile }), { mode: 0o600 });
  // pdnsutil reads pdns.conf too, so it exists before the database; the port is set at start.
  configure(53);
  execFileSync(sqlite3, [join(directory, 'pdns.sqlite3')], {
    input: `${readFileSync(SCHEMA, 'utf8')}\n${zoneSql([...DEMO_CNAMES, ...(opts.extraCnames ?? [])])}`,
  });
  const pdnsutil = (...args: string[]): string =>
    execFileSync(pdnsutilPath, [`--config-dir=${directory}`, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  return { directory, configFile, policyFile, pdnsutil, configure };
}

/**
 * Start PowerDNS with the demo zones on a free loopback port, in a fresh temporary directory.
 * `updatePolicy` replaces the Lua update policy (default {@link defaultUpdatePolicy}); `null`
 * runs without one, so only the domain metadata decides (and any record type may be written).
 */
export async function startTestPowerDns(
  opts: { updatePolicy?: string | null; extraCnames?: { name: string; target: string }[] } = {},
): Promise<TestPowerDns> {
  const pdnsServer = requireProgram('pdns_server', 'pdns-server');
  const directory = mkdtempSync(join(tmpdir(), 'certflow-pdns-'));
  try {
    const { pdnsutil, configure } = preparePowerDnsDirectory(directory, opts);
    const keyText = pdnsutil('generate-tsig-key', KEY_NAME, 'hmac-sha256');
    const keyFile = join(directory, `${KEY_NAME}.key`);
    writeFileSync(keyFile, keyText, { mode: 0o600 });
    const secret = /^Create new TSIG key \S+ \S+ (\S+)$/m.exec(keyText)?.[1];
    if (secret === undefined) throw new Error('pdnsutil generate-tsig-key printed no key');
    const tsig: TsigKey = { name: KEY_NAME, algorithm: 'hmac-sha256', secret };
    const logFile = join(directory, 'pdns.log');
    const { daemon, address } = await onFreePort(async (port) => {
      configure(port);
      const address: ServerAddress = { host: '127.0.0.1', port };
      const daemon = spawnDaemon(pdnsServer, [`--config-dir=${directory}`], { cwd: directory, logFile });
      await waitForZones(daemon, address, [PRIMARY_ZONE, DELEGATED_ZONE], `pdns_server on port ${port}`);
      return { daemon, address };
    }, freeDnsPort);
    return {
      product: 'PowerDNS',
      address,
      tsig,
      keyFile,
      configDir: directory,
      pdnsutil,
      primaryZone: PRIMARY_ZONE,
      delegatedZone: DELEGATED_ZONE,
      directory,
      logFile,
      ...txtReaders(address),
      async stop() {
        await daemon.stop();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}
