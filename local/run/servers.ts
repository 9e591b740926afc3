import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BindServer, generateTsigSecret, startBind } from '../bind';
import { DEMO } from '../demo';
import { type PebbleServer, startPebble } from '../pebble';
import { pickPort } from '../ports';
import { ensureLocalPrerequisites } from '../prerequisites';
import { createServerDirectory, removeAbandonedServerDirectories } from '../server-directory';

/** The bundled servers once started: BIND's address (`127.0.0.1:<port>`), its TSIG key file, Pebble. */
export interface StartedServers {
  bind: BindServer;
  pebble: PebbleServer;
  dns: string;
  tsigFile: string;
}

/**
 * The bundled Pebble and BIND on loopback, in a server directory of their own. What has started
 * is stopped (and the directory, with its TSIG key, removed) by {@link stop}, even when a later
 * one failed to start.
 */
export class BundledServers {
  bind?: BindServer;
  pebble?: PebbleServer;
  private directory?: string;

  async start(install: boolean, out: (line: string) => void): Promise<StartedServers> {
    await ensureLocalPrerequisites({ install, log: out });
    // A run killed outright left its server directory (and its TSIG key) behind: remove it.
    for (const gone of await removeAbandonedServerDirectories()) {
      out(`certflow local: removed ${gone}, left by a run that was killed`);
    }
    const serverDir = createServerDirectory();
    this.directory = serverDir;
    const tsigSecret = generateTsigSecret();
    const tsigFile = join(serverDir, 'tsig.key');
    writeFileSync(tsigFile, `${tsigSecret}\n`, { mode: 0o600 });
    const dnsPort = await pickPort(DEMO.ports.dns, true);
    const bind = await startBind({
      directory: join(serverDir, 'bind'),
      port: dnsPort,
      primaryZone: DEMO.primaryZone,
      delegatedZone: DEMO.delegatedZone,
      cnames: DEMO.delegatedNames.map((name) => ({
        name: `_acme-challenge.${name}`,
        target: `${name}.${DEMO.delegatedZone}`,
      })),
      tsig: { name: DEMO.tsigKeyName, algorithm: 'hmac-sha256', secret: tsigSecret },
    });
    this.bind = bind;
    const dns = `127.0.0.1:${bind.address.port}`;
    const pebble = await startPebble({
      directory: join(serverDir, 'pebble'),
      port: await pickPort(DEMO.ports.acme),
      managementPort: await pickPort(DEMO.ports.acmeManagement),
      dnsServer: dns,
    });
    this.pebble = pebble;
    out(
      `certflow local: BIND on ${dns} (zones ${DEMO.primaryZone}, ${DEMO.delegatedZone}), Pebble at ${pebble.directoryUrl}`,
    );
    return { bind, pebble, dns, tsigFile };
  }

  async stop(): Promise<void> {
    await this.pebble?.stop().catch(() => undefined);
    await this.bind?.stop().catch(() => undefined);
    if (this.directory) rmSync(this.directory, { recursive: true, force: true });
  }
}
