import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TsigKey } from '../../lambdas/adapters/dns/rfc2136/tsig';
import { type BindServer, generateTsigSecret, startBind } from '../../local/bind';
import { freeDnsPort } from '../../local/ports';
import {
  DELEGATED_ZONE,
  DEMO_CNAMES,
  KEY_NAME,
  PRIMARY_ZONE,
  type TestDnsServer,
  txtReaders,
} from './dns-fixture';
import { type DnsDaemon, requireProgram, spawnDaemon, waitForZones } from './dns-process';

export { DELEGATED_ZONE, DEMO_CNAMES, PRIMARY_ZONE };

/** A port free for both TCP and UDP on 127.0.0.1. */
export const freePort = freeDnsPort;

export interface TestBind extends TestDnsServer {
  server: BindServer;
  /**
   * Stop named (SIGTERM) and keep its directory: the zones, and the delegated zone's journal
   * with every update it took. Nothing answers on its port until {@link TestBind.restart}.
   */
  halt(): Promise<void>;
  /** Start named again on the same port with the same configuration and directory (journal replayed). */
  restart(): Promise<void>;
  /**
   * Kill named at once (SIGKILL, read from its pid file) and return only once it no longer
   * serves: synchronous, so a test can stop the server between two states of a run from an
   * output callback. Call {@link TestBind.halt} or `restart()` afterwards.
   */
  crash(): void;
}

/** Start BIND with the demo zones (plus `extraCnames`) on a free loopback port, in a temp directory. */
export async function startTestBind(
  opts: {
    extraCnames?: { name: string; target: string }[];
    /** Extra zone-file lines for the primary zone (absolute owner names). */
    primaryRecords?: string[];
    /** More zones, e.g. the parent of the delegated zone (see local/bind.ts). */
    extraZones?: { name: string; records: string[] }[];
    /** Serve the delegated zone from a second named on its own free port (see local/bind.ts). */
    separateDelegatedServer?: boolean;
    /** Extra zone-file lines for the delegated zone (absolute owner names). */
    delegatedRecords?: string[];
    /** The port on 127.0.0.1. @default a free one */
    port?: number;
  } = {},
): Promise<TestBind> {
  const directory = mkdtempSync(join(tmpdir(), 'certflow-bind-'));
  const tsig: TsigKey & { algorithm: 'hmac-sha256' } = {
    name: KEY_NAME,
    algorithm: 'hmac-sha256',
    secret: generateTsigSecret(),
  };
  let server: BindServer;
  try {
    server = await startBind({
      directory,
      port: opts.port ?? (await freePort()),
      primaryZone: PRIMARY_ZONE,
      delegatedZone: DELEGATED_ZONE,
      cnames: [...DEMO_CNAMES, ...(opts.extraCnames ?? [])],
      tsig,
      primaryRecords: opts.primaryRecords,
      extraZones: opts.extraZones,
      delegatedRecords: opts.delegatedRecords,
      delegatedZonePort: opts.separateDelegatedServer ? await freePort() : undefined,
    });
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  let restarted: DnsDaemon | undefined;
  const halt = async (): Promise<void> => {
    await server.stop();
    await restarted?.stop();
    restarted = undefined;
  };
  return {
    product: 'BIND 9',
    server,
    address: server.address,
    tsig,
    primaryZone: PRIMARY_ZONE,
    delegatedZone: DELEGATED_ZONE,
    directory,
    logFile: server.logFile,
    ...txtReaders(server.address),
    halt,
    crash() {
      const pid = Number(readFileSync(join(directory, 'named.pid'), 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      // Wait until it is gone or a zombie (its sockets closed); the kernel does this in a moment.
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        let state: string | undefined;
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        } catch {
          return;
        }
        if (state === 'Z' || state === 'X') return;
      }
      throw new Error(`named (pid ${pid}) did not die within 5 s of SIGKILL`);
    },
    async restart() {
      if (opts.separateDelegatedServer) throw new Error('restart() serves the single-server layout only');
      await halt();
      const daemon = spawnDaemon(
        requireProgram('named', 'bind9'),
        ['-g', '-4', '-n', '1', '-c', server.configFile],
        { cwd: directory, logFile: join(directory, 'named-restarted.log') },
      );
      restarted = daemon;
      await waitForZones(daemon, server.address, [PRIMARY_ZONE, DELEGATED_ZONE], 'BIND (restarted)');
    },
    async stop() {
      await halt();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
