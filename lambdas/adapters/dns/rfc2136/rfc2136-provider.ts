import { type DnsClient, formatServer } from '../../../core/dns/dns-client';
import { canonicalName, isAtOrBelow } from '../../../core/dns/names';
import { DnsUpdateError } from '../../../core/errors';
import type { DnsProvider, ServerAddress, TxtRecord } from '../../../core/ports';
import { UdpDnsClient } from '../transport/udp-dns-client';
import { verifyStored } from './read-back';
import type { TsigKey } from './tsig';
import { sendUpdate, type UpdateOperation } from './update';

export interface Rfc2136ProviderOptions {
  /** Primary server that accepts UPDATE for `zone`. */
  server: ServerAddress;
  /** The delegated validation zone; every record must lie inside it. */
  zone: string;
  tsig: TsigKey;
  /** TTL of added TXT records. @default 60 */
  ttl?: number;
  /** Timeout of one UPDATE exchange (default 5000), and of each read-back query attempt (default 2000). */
  timeoutMs?: number;
  /** Client for reading the values back after each update. @default queries over TCP */
  readBackClient?: DnsClient;
}

/** A TXT value as character-strings of at most 255 octets each (RFC 1035 §3.3.14). */
function txtStrings(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) parts.push(bytes.subarray(i, i + 255));
  return parts.length > 0 ? parts : [Buffer.alloc(0)];
}

/**
 * DNS provider for any server speaking RFC 2136 dynamic update with TSIG (RFC 8945): BIND, Knot,
 * PowerDNS. Each call is one UPDATE message. Adds use §2.5.1 (add to an RRset, so other values at
 * the same name stay); removals use §2.5.4 (delete one RR, class NONE), never a whole RRset, so
 * another order's value at the same name survives. Both are idempotent on the server side
 * (§3.4.2.2, §3.4.2.4).
 *
 * After each acknowledged update the values are read back from the same server (RD=0, one query
 * per name): a server that answers NOERROR but stores nothing (PowerDNS with a Lua update policy)
 * fails the call at once instead of as a propagation timeout minutes later.
 */
export class Rfc2136Provider implements DnsProvider {
  readonly name = 'rfc2136';
  private readonly zone: string;
  private readonly ttl: number;
  private readonly readBackClient: DnsClient;

  constructor(private readonly options: Rfc2136ProviderOptions) {
    this.zone = canonicalName(options.zone);
    this.ttl = options.ttl ?? 60;
    // Over TCP, like the UPDATE itself: the server answered on TCP a moment ago.
    this.readBackClient = options.readBackClient ?? new UdpDnsClient({ transport: 'tcp' });
  }

  /** Add the values in one UPDATE. RFC 2136 has no change tokens, so this returns `[]`. */
  async addTxtValues(records: TxtRecord[]): Promise<string[]> {
    await this.update('add', records);
    return [];
  }

  /** Delete exactly these values in one UPDATE; values that are not there are ignored by the server. */
  async removeTxtValues(records: TxtRecord[]): Promise<void> {
    await this.update('delete', records);
  }

  private async update(op: UpdateOperation['op'], records: TxtRecord[]): Promise<void> {
    const unique = new Map<string, TxtRecord>();
    for (const r of records) {
      const fqdn = canonicalName(r.fqdn);
      unique.set(`${fqdn}\u0000${r.value}`, { fqdn, value: r.value });
    }
    const outside = [...unique.values()].filter((r) => !isAtOrBelow(r.fqdn, this.zone)).map((r) => r.fqdn);
    if (outside.length > 0) {
      throw new DnsUpdateError(
        `refusing to write outside the delegated zone ${this.zone}: ${[...new Set(outside)].join(', ')}; the _acme-challenge CNAMEs must point into ${this.zone}`,
      );
    }
    if (unique.size === 0) return;
    const operations: UpdateOperation[] = [...unique.values()].map((r) => ({
      op,
      record: { name: r.fqdn, type: 'TXT', ttl: op === 'add' ? this.ttl : 0, data: txtStrings(r.value) },
    }));
    await sendUpdate(
      {
        server: this.options.server,
        zone: this.zone,
        tsig: this.options.tsig,
        timeoutMs: this.options.timeoutMs,
      },
      operations,
    );
    await verifyStored(op, [...unique.values()], {
      server: this.options.server,
      zone: this.zone,
      keyName: this.options.tsig.name,
      client: this.readBackClient,
      timeoutMs: this.options.timeoutMs ?? 2000,
    });
  }

  /** For messages: `rfc2136 <server> zone <zone>`. */
  toString(): string {
    return `rfc2136 ${formatServer(this.options.server)} zone ${this.zone}`;
  }
}
