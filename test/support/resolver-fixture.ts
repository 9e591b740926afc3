/**
 * A recursive resolver for the end-to-end tests against Knot and PowerDNS: BIND 9 (`named`) on
 * a free loopback port that forwards the demo zones to the authoritative server under test
 * (`forward only`) and caches nothing, so Pebble, which asks one resolver and does not chase
 * CNAMEs itself, sees the whole chain `_acme-challenge.<name>` CNAME → TXT in the delegated
 * zone. Knot answers only the CNAME when the target is in another of its zones; a resolver in
 * front is also how a real CA reaches an authoritative server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerAddress } from '../../lambdas/core/ports';
import { freeDnsPort } from '../../local/ports';
import { onFreePort, requireProgram, spawnDaemon, waitForZones } from './dns-process';

export interface TestResolver {
  address: ServerAddress;
  /** `127.0.0.1:port`, for Pebble's `-dnsserver` and certflow's `delegation.resolver`. */
  hostPort: string;
  stop(): Promise<void>;
}

/** Start a forwarding resolver for `zones`, sending every query for them to `upstream`. */
export async function startTestResolver(zones: string[], upstream: ServerAddress): Promise<TestResolver> {
  const named = requireProgram('named', 'bind9');
  const directory = mkdtempSync(join(tmpdir(), 'certflow-resolver-'));
  try {
    const configFile = join(directory, 'named.conf');
    const { daemon, address } = await onFreePort(async (port) => {
      writeFileSync(
        configFile,
        `options {
  directory "${directory}";
  pid-file "${join(directory, 'named.pid')}";
  session-keyfile "${join(directory, 'session.key')}";
  managed-keys-directory "${directory}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion yes;
  allow-query { 127.0.0.1; };
  allow-recursion { 127.0.0.1; };
  dnssec-validation no;
  notify no;
  empty-zones-enable no;
  max-cache-ttl 0;
  max-ncache-ttl 0;
};
controls { };
${zones
  .map(
    (zone) =>
      `zone "${zone}" { type forward; forward only; forwarders { ${upstream.host} port ${upstream.port}; }; };`,
  )
  .join('\n')}
`,
      );
      const address: ServerAddress = { host: '127.0.0.1', port };
      const daemon = spawnDaemon(named, ['-g', '-4', '-n', '1', '-c', configFile], {
        cwd: directory,
        logFile: join(directory, 'named.log'),
      });
      await waitForZones(daemon, address, zones, `named (resolver) on port ${port}`, { recursive: true });
      return { daemon, address };
    }, freeDnsPort);
    return {
      address,
      hostPort: `${address.host}:${address.port}`,
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
