/**
 * Pebble for tests: a temporary directory, free loopback ports, and a `stop()` that also
 * removes the directory. Call `stop()` in `afterAll`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PebbleServer, startPebble } from '../../local/pebble';
import { freeTcpPort } from '../../local/ports';

export { freeTcpPort };

export interface TestPebble extends PebbleServer {
  /** Loopback port of the ACME API. */
  port: number;
  /** Loopback port of the management interface. */
  managementPort: number;
  /** The temporary directory (removed by `stop()`). */
  directory: string;
}

export interface TestPebbleOptions {
  /** The DNS server Pebble validates dns-01 against, `"127.0.0.1:port"`. */
  dnsServer: string;
  /** Extra Pebble environment, e.g. `{ PEBBLE_VA_ALWAYS_VALID: '1' }`. */
  env?: Record<string, string>;
  /** Lifetime of issued certificates (default 90 days). */
  certificateValiditySeconds?: number;
  /** Require External Account Binding with these kid → HMAC keys. */
  externalAccountMacKeys?: Record<string, string>;
}

/** Every test Pebble started in this process and not yet stopped (the post-run check reads their roots). */
export const runningTestPebbles = new Set<TestPebble>();

/** Start Pebble on free loopback ports in a fresh temporary directory. */
export async function startTestPebble(options: TestPebbleOptions): Promise<TestPebble> {
  const directory = mkdtempSync(join(tmpdir(), 'certflow-pebble-'));
  try {
    const port = await freeTcpPort();
    let managementPort = await freeTcpPort();
    while (managementPort === port) managementPort = await freeTcpPort();
    const server = await startPebble({
      directory,
      port,
      managementPort,
      dnsServer: options.dnsServer,
      env: options.env,
      certificateValiditySeconds: options.certificateValiditySeconds,
      externalAccountMacKeys: options.externalAccountMacKeys,
    });
    const pebble: TestPebble = {
      ...server,
      port,
      managementPort,
      directory,
      stop: async () => {
        runningTestPebbles.delete(pebble);
        await server.stop();
        rmSync(directory, { recursive: true, force: true });
      },
    };
    runningTestPebbles.add(pebble);
    return pebble;
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}
