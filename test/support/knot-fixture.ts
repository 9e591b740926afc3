/**
 * Knot DNS for tests: `knotd` in the foreground with a configuration, zone files, journal,
 * timers and control socket in a temporary directory, listening on a free loopback port. Runs as
 * whoever runs the tests (root included: knotd only changes user when the config says so).
 * The TSIG key is made by Knot's own `keymgr -t` and included into the configuration, and the
 * delegated zone's ACL lets it update TXT records only (`update-type: [TXT]`); the primary zone
 * has no update ACL at all.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TsigKey } from '../../lambdas/adapters/dns/rfc2136/tsig';
import type { ServerAddress } from '../../lambdas/core/ports';
import { freeDnsPort } from '../../local/ports';
import {
  cnameRecords,
  DELEGATED_ZONE,
  DEMO_CNAMES,
  KEY_NAME,
  PRIMARY_ZONE,
  type TestDnsServer,
  txtReaders,
  zoneFile,
} from './dns-fixture';
import { onFreePort, requireProgram, spawnDaemon, waitForZones } from './dns-process';

export interface TestKnot extends TestDnsServer {
  /** The key file exactly as `keymgr -t certflow-acme hmac-sha256` wrote it. */
  keyFile: string;
  configFile: string;
}

/** knot.conf for the demo zones. Exported for the README's example. */
export function renderKnotConf(opts: { directory: string; port: number; keyFile: string }): string {
  const dir = opts.directory;
  return `server:
  rundir: "${dir}"
  pidfile: "${join(dir, 'knot.pid')}"
  listen: 127.0.0.1@${opts.port}
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1

log:
  - target: stderr
    any: info

database:
  storage: "${dir}"

include: "${opts.keyFile}"

acl:
  # certflow's key may add and delete TXT records, nothing else
  - id: certflow-update
    key: ${KEY_NAME}
    action: update
    update-type: [TXT]
  - id: local-transfer
    address: 127.0.0.1
    action: transfer

template:
  - id: default
    storage: "${dir}"
    zonefile-sync: -1
    journal-content: changes

zone:
  - domain: ${PRIMARY_ZONE}
    file: primary.zone
    acl: [local-transfer]
  - domain: ${DELEGATED_ZONE}
    file: delegated.zone
    acl: [certflow-update, local-transfer]
`;
}

/** Start Knot with the demo zones on a free loopback port, in a fresh temporary directory. */
export async function startTestKnot(
  opts: { extraCnames?: { name: string; target: string }[] } = {},
): Promise<TestKnot> {
  const knotd = requireProgram('knotd', 'knot');
  const keymgr = requireProgram('keymgr', 'knot');
  const directory = mkdtempSync(join(tmpdir(), 'certflow-knot-'));
  try {
    const keyFile = join(directory, `${KEY_NAME}.key`);
    const keyText = execFileSync(keymgr, ['-t', KEY_NAME, 'hmac-sha256'], { encoding: 'utf8' });
    writeFileSync(keyFile, keyText, { mode: 0o600 });
    const secret = /^\s+secret:\s*(\S+)\s*$/m.exec(keyText)?.[1];
    if (secret === undefined)
      throw new Error(`keymgr -t printed no secret:\n${keyText.replace(/secret:.*/g, 'secret: …')}`);
    const tsig: TsigKey = { name: KEY_NAME, algorithm: 'hmac-sha256', secret };
    writeFileSync(
      join(directory, 'primary.zone'),
      zoneFile(PRIMARY_ZONE, cnameRecords([...DEMO_CNAMES, ...(opts.extraCnames ?? [])])),
    );
    writeFileSync(join(directory, 'delegated.zone'), zoneFile(DELEGATED_ZONE));
    const configFile = join(directory, 'knot.conf');
    const logFile = join(directory, 'knotd.log');
    const { daemon, address } = await onFreePort(async (port) => {
      writeFileSync(configFile, renderKnotConf({ directory, port, keyFile }), { mode: 0o600 });
      const address: ServerAddress = { host: '127.0.0.1', port };
      const daemon = spawnDaemon(knotd, ['-c', configFile, '-s', join(directory, 'knot.sock')], {
        cwd: directory,
        logFile,
      });
      await waitForZones(daemon, address, [PRIMARY_ZONE, DELEGATED_ZONE], `knotd on port ${port}`);
      return { daemon, address };
    }, freeDnsPort);
    return {
      product: 'Knot DNS',
      address,
      tsig,
      keyFile,
      configFile,
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
