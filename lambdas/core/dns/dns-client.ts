import { DnsQueryError } from '../errors';
import type { ServerAddress } from '../ports';

/**
 * The DNS client port: what a query asks and what it returns, and the pure helpers around server
 * addresses. The sockets (UDP, TCP) are an adapter: lambdas/adapters/dns/transport.
 */

/** The record types certflow asks for. */
export type QueryType = 'TXT' | 'CNAME' | 'NS' | 'A' | 'AAAA' | 'SOA' | 'CAA';

/** A CAA record's fields (RFC 8659 §4.1). */
export interface CaaData {
  /** Flags octet; bit 128 is Issuer Critical. */
  flags: number;
  /** Property tag, lowercase (tags are case-insensitive, RFC 8659 §4.1). */
  tag: string;
  /** Property value, as sent. */
  value: string;
}

/** One answer record, simplified: names lowercase without the trailing dot. */
export interface DnsAnswer {
  name: string;
  type: string;
  ttl: number;
  /** TXT: the record's strings joined; CNAME/NS: the target; A/AAAA: the address; SOA and CAA: zone-file form. */
  data: string;
  /** CAA records only: the parsed fields. */
  caa?: CaaData;
}

/** What a query returned (RFC 1035 §4.1.1 header fields certflow reads, plus the answer section). */
export interface DnsResponse {
  rcode: string;
  authoritative: boolean;
  answers: DnsAnswer[];
  /** The authority section (NS of a referral, SOA of a negative answer). */
  authority?: DnsAnswer[];
  /** The additional section (glue addresses). */
  additional?: DnsAnswer[];
}

export interface QueryOptions {
  /** RD bit (RFC 1035 §4.1.1): true for a recursive resolver, false for an authoritative server. */
  recursionDesired?: boolean;
  /** Per-attempt timeout. @default 2000 */
  timeoutMs?: number;
}

/** Asks one DNS server one question. */
export interface DnsClient {
  query(server: ServerAddress, name: string, type: QueryType, opts?: QueryOptions): Promise<DnsResponse>;
}

/**
 * Whether `text` is an IPv6 address literal (RFC 4291 §2.2), a zone id (`%eth0`) allowed, checked
 * by the WHATWG URL parser's IPv6 grammar (no socket module needed).
 */
export function isIPv6Literal(text: string): boolean {
  if (!text.includes(':')) return false;
  const address = text.split('%')[0] ?? '';
  try {
    return new URL(`http://[${address}]/`).hostname.startsWith('[');
  } catch {
    return false;
  }
}

/** `host:port` for messages. */
export function formatServer(server: ServerAddress): string {
  return isIPv6Literal(server.host) ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/**
 * Parse `"host"`, `"host:port"`, `"[v6]"` or `"[v6]:port"` (the config's `hostPort` syntax).
 * A bare IPv6 address without brackets is taken as a host.
 */
export function parseServerAddress(value: string, defaultPort = 53): ServerAddress {
  const text = value.trim();
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] ?? '', port: toPort(bracketed[2], defaultPort, value) };
  if (isIPv6Literal(text)) return { host: text, port: defaultPort };
  const plain = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!plain) {
    throw new DnsQueryError(`"${value}" is not a DNS server address; write "host" or "host:port"`);
  }
  return { host: plain[1] ?? '', port: toPort(plain[2], defaultPort, value) };
}

function toPort(text: string | undefined, defaultPort: number, value: string): number {
  if (text === undefined) return defaultPort;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DnsQueryError(`"${value}" has port ${text}; use 1-65535`);
  }
  return port;
}

/**
 * Socket error codes by which this host's own network stack refuses an address before anything
 * is sent: no route to it (`ENETUNREACH`), no local address of its family (`EADDRNOTAVAIL`, as
 * with IPv6 disabled), or the family not supported at all (`EAFNOSUPPORT`). Lambda functions
 * outside a VPC have no IPv6 route, so an IPv6 server address fails this way there.
 */
const UNROUTABLE_CODES = new Set(['ENETUNREACH', 'EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT']);

/**
 * Whether `error` (or an error in its `cause` chain) says this host cannot send to the address at
 * all (see {@link UNROUTABLE_CODES}), as opposed to a server that did not answer.
 */
export function isUnroutable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNROUTABLE_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** `IPv6` or `IPv4`, for messages about an address family. */
export function addressFamily(server: ServerAddress): 'IPv6' | 'IPv4' {
  return isIPv6Literal(server.host) ? 'IPv6' : 'IPv4';
}
