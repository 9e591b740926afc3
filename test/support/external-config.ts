import { writeFileSync } from 'node:fs';
import type { TestDnsServer } from './dns-fixture';
import type { TestPebble } from './pebble-fixture';

/** The shortest intervals the schema allows, with room for a loaded machine. */
export const TEST_TIMING = {
  propagationIntervalSeconds: 1,
  propagationMaxChecks: 10,
  orderIntervalSeconds: 1,
  orderMaxChecks: 30,
};

export interface ExternalConfigOptions {
  dns: TestDnsServer;
  pebble: TestPebble;
  /** A file holding the server's TSIG secret (never the secret itself in the config). */
  tsigFile: string;
  /** `storage.localDirectory`. */
  storeDirectory: string;
  certificates: unknown[];
  timing?: Record<string, number>;
  /** Top-level fields to add or replace (e.g. `renewal`). */
  extra?: Record<string, unknown>;
}

/**
 * Write a certflow configuration for `local --external` against a test name server and Pebble
 * the test runs: the delegated zone updated over RFC 2136 with the server's TSIG key (from
 * `tsigFile`), propagation checked at that server, certificates stored locally. Returns `file`.
 */
export function writeExternalConfig(file: string, o: ExternalConfigOptions): string {
  const server = `${o.dns.address.host}:${o.dns.address.port}`;
  writeFileSync(
    file,
    JSON.stringify({
      acme: {
        directory: o.pebble.directoryUrl,
        email: 'ops@example.test',
        termsOfServiceAgreed: true,
        caBundleFile: o.pebble.caBundleFile,
      },
      delegation: {
        zone: o.dns.delegatedZone,
        domains: [o.dns.primaryZone],
        nameservers: [server],
        resolver: server,
      },
      dns: {
        provider: 'rfc2136',
        server,
        tsig: { name: o.dns.tsig.name, algorithm: 'hmac-sha256', secretFile: o.tsigFile },
      },
      timing: o.timing ?? TEST_TIMING,
      storage: { localDirectory: o.storeDirectory, defaultStores: ['local'] },
      certificates: o.certificates,
      ...o.extra,
    }),
  );
  return file;
}
