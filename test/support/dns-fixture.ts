/**
 * What every authoritative DNS server fixture (BIND, Knot, PowerDNS) offers the tests: the same
 * demo zones (a primary zone with `_acme-challenge` CNAMEs, a delegated validation zone) and a
 * TSIG key that may update TXT records in the delegated zone only.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TsigKey } from '../../lambdas/adapters/dns/rfc2136/tsig';
import { UdpDnsClient } from '../../lambdas/adapters/dns/transport/udp-dns-client';
import type { ServerAddress } from '../../lambdas/core/ports';

/** The demo zones every DNS test uses. */
export const PRIMARY_ZONE = 'example.test';
export const DELEGATED_ZONE = 'acme.certflow.test';
export const DEMO_CNAMES = [
  { name: '_acme-challenge.example.test', target: 'example.test.acme.certflow.test' },
  { name: '_acme-challenge.www.example.test', target: 'www.example.test.acme.certflow.test' },
];
/** The key name every fixture grants TXT updates in the delegated zone. */
export const KEY_NAME = 'certflow-acme';

export interface TestDnsServer {
  /** "BIND 9", "Knot DNS" or "PowerDNS", for test names. */
  product: string;
  address: ServerAddress;
  /** The key the server grants TXT updates in the delegated zone. */
  tsig: TsigKey;
  primaryZone: string;
  delegatedZone: string;
  /** The temporary directory (removed by `stop()`). */
  directory: string;
  /** The server's log. */
  logFile: string;
  /** The TXT values at `fqdn`, asked of the server (RD=0), sorted. */
  listTxt(fqdn: string): Promise<string[]>;
  /** Every TXT record in the delegated zone, by zone transfer (dig AXFR). */
  axfrTxt(): Promise<{ name: string; value: string }[]>;
  /** Stop the server and remove its directory. */
  stop(): Promise<void>;
}

/** A zone file: SOA (serial 1), NS and its address, plus `records` (owner names absolute). */
export function zoneFile(zone: string, records: string[] = []): string {
  return `${[
    '$TTL 60',
    `${zone}. IN SOA ns1.${zone}. hostmaster.${zone}. 1 3600 600 86400 60`,
    `${zone}. IN NS ns1.${zone}.`,
    `ns1.${zone}. IN A 127.0.0.1`,
    ...records,
  ].join('\n')}\n`;
}

/** The CNAME lines of the primary zone. */
export function cnameRecords(cnames: { name: string; target: string }[]): string[] {
  return cnames.map((c) => `${c.name}. IN CNAME ${c.target}.`);
}

/** `listTxt` and `axfrTxt` for a server at `address`. */
export function txtReaders(address: ServerAddress): Pick<TestDnsServer, 'listTxt' | 'axfrTxt'> {
  const client = new UdpDnsClient();
  return {
    async listTxt(fqdn) {
      const r = await client.query(address, fqdn, 'TXT', { recursionDesired: false });
      return r.answers
        .filter((a) => a.type === 'TXT')
        .map((a) => a.data)
        .sort();
    },
    async axfrTxt() {
      const { stdout } = await promisify(execFile)('dig', [
        `@${address.host}`,
        '-p',
        String(address.port),
        DELEGATED_ZONE,
        'AXFR',
        '+noall',
        '+answer',
      ]);
      return stdout
        .split('\n')
        .map((line) => /^(\S+)\s+\d+\s+IN\s+TXT\s+(.*)$/.exec(line))
        .flatMap((m) =>
          m
            ? [
                {
                  name: (m[1] ?? '').replace(/\.$/, ''),
                  value: [...(m[2] ?? '').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((q) => q[1]).join(''),
                },
              ]
            : [],
        );
    },
  };
}
