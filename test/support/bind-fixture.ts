import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TsigKey } from '../../lambdas/adapters/dns/rfc2136/tsig';
import { UdpDnsClient } from '../../lambdas/core/dns/dns-client';
import type { ServerAddress } from '../../lambdas/core/ports';
import { type BindServer, generateTsigSecret, startBind } from '../../lib/local/bind';
import { pickPort } from '../../lib/local/ports';

/** The demo zones every DNS test uses. */
export const PRIMARY_ZONE = 'example.test';
export const DELEGATED_ZONE = 'acme.certflow.test';
export const DEMO_CNAMES = [
  { name: '_acme-challenge.example.test', target: 'example.test.acme.certflow.test' },
  { name: '_acme-challenge.www.example.test', target: 'www.example.test.acme.certflow.test' },
];

/** A port free for both TCP and UDP on 127.0.0.1. */
export const freePort = (): Promise<number> => pickPort(undefined, true);

export interface TestBind {
  server: BindServer;
  address: ServerAddress;
  /** The key BIND grants TXT updates in the delegated zone. */
  tsig: TsigKey;
  primaryZone: string;
  delegatedZone: string;
  directory: string;
  /** The TXT values at `fqdn`, asked of BIND (RD=0). */
  listTxt(fqdn: string): Promise<string[]>;
  /** Every TXT record in the delegated zone, by zone transfer (dig AXFR). */
  axfrTxt(): Promise<{ name: string; value: string }[]>;
  /** Stop BIND and remove its directory. */
  stop(): Promise<void>;
}

/** Start BIND with the demo zones (plus `extraCnames`) on a free loopback port, in a temp directory. */
export async function startTestBind(
  opts: {
    extraCnames?: { name: string; target: string }[];
    /** Extra zone-file lines for the primary zone (absolute owner names). */
    primaryRecords?: string[];
    /** More zones, e.g. the parent of the delegated zone (see lib/local/bind.ts). */
    extraZones?: { name: string; records: string[] }[];
    /** Serve the delegated zone from a second named on its own free port (see lib/local/bind.ts). */
    separateDelegatedServer?: boolean;
  } = {},
): Promise<TestBind> {
  const directory = mkdtempSync(join(tmpdir(), 'certflow-bind-'));
  const tsig: TsigKey & { algorithm: 'hmac-sha256' } = {
    name: 'certflow-acme',
    algorithm: 'hmac-sha256',
    secret: generateTsigSecret(),
  };
  let server: BindServer;
  try {
    server = await startBind({
      directory,
      port: await freePort(),
      primaryZone: PRIMARY_ZONE,
      delegatedZone: DELEGATED_ZONE,
      cnames: [...DEMO_CNAMES, ...(opts.extraCnames ?? [])],
      tsig,
      primaryRecords: opts.primaryRecords,
      extraZones: opts.extraZones,
      delegatedZonePort: opts.separateDelegatedServer ? await freePort() : undefined,
    });
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  const client = new UdpDnsClient();
  return {
    server,
    address: server.address,
    tsig,
    primaryZone: PRIMARY_ZONE,
    delegatedZone: DELEGATED_ZONE,
    directory,
    async listTxt(fqdn) {
      const r = await client.query(server.address, fqdn, 'TXT', { recursionDesired: false });
      return r.answers
        .filter((a) => a.type === 'TXT')
        .map((a) => a.data)
        .sort();
    },
    async axfrTxt() {
      const { stdout } = await promisify(execFile)('dig', [
        `@${server.address.host}`,
        '-p',
        String(server.address.port),
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
    async stop() {
      await server.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
