import { randomInt } from 'node:crypto';
import * as dgram from 'node:dgram';
import { getServers } from 'node:dns';
import { isIPv6, Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { DnsQueryError } from '../errors';
import type { ServerAddress } from '../ports';

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
  /** The authority section (NS of a referral, SOA of a negative answer); filled by {@link UdpDnsClient}. */
  authority?: DnsAnswer[];
  /** The additional section (glue addresses); filled by {@link UdpDnsClient}. */
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

/** `dns-packet`'s decoded packet also carries the rcode, which its type declarations omit. */
type Decoded = dnsPacket.DecodedPacket & { rcode?: string };

/** `host:port` for messages. */
export function formatServer(server: ServerAddress): string {
  return isIPv6(server.host) ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/**
 * Parse `"host"`, `"host:port"`, `"[v6]"` or `"[v6]:port"` (the config's `hostPort` syntax).
 * A bare IPv6 address without brackets is taken as a host.
 */
export function parseServerAddress(value: string, defaultPort = 53): ServerAddress {
  const text = value.trim();
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] ?? '', port: toPort(bracketed[2], defaultPort, value) };
  if (isIPv6(text)) return { host: text, port: defaultPort };
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

/** The first resolver node knows about (from /etc/resolv.conf), port included. */
export function systemResolver(): ServerAddress {
  const first = getServers()[0];
  if (first === undefined) {
    throw new DnsQueryError('no system DNS resolver is configured; set delegation.resolver');
  }
  return parseServerAddress(first);
}

/** A random 16-bit message id (RFC 5452 §9.2 recommends unpredictable ids). */
export function randomMessageId(): number {
  return randomInt(0, 0x10000);
}

export interface ExchangeOptions {
  timeoutMs: number;
  /** Extra UDP attempts after the first. */
  retries: number;
  /** Accept only a reply with this message id. */
  id: number;
}

/**
 * Send one UDP datagram and wait for the reply whose id matches (RFC 1035 §4.2.1), retrying on
 * timeout. Returns the raw reply; throws a plain `Error` that callers wrap with context.
 */
export async function udpExchange(
  server: ServerAddress,
  message: Buffer,
  opts: ExchangeOptions,
): Promise<Buffer> {
  let lastError: Error = new Error('no attempt made');
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    try {
      return await udpAttempt(server, message, opts);
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
      if (!(lastError instanceof TimeoutError)) break;
    }
  }
  throw lastError;
}

class TimeoutError extends Error {}

/**
 * Settle one socket exchange exactly once: on the reply, an error or the timeout, whichever
 * comes first, clear the timer and close the socket.
 */
function settleOnce(
  resolve: (reply: Buffer) => void,
  reject: (error: Error) => void,
  close: () => void,
  timeoutMs: number,
  timeoutMessage: string,
): (error: Error | undefined, reply?: Buffer) => void {
  let done = false;
  const finish = (error: Error | undefined, reply?: Buffer): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    close();
    if (error !== undefined) reject(error);
    else if (reply !== undefined) resolve(reply);
  };
  const timer = setTimeout(() => finish(new TimeoutError(timeoutMessage)), timeoutMs);
  return finish;
}

function udpAttempt(server: ServerAddress, message: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const socket = dgram.createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    const finish = settleOnce(
      resolve,
      reject,
      () => socket.close(),
      opts.timeoutMs,
      `no answer within ${opts.timeoutMs} ms`,
    );
    socket.on('error', (error) => finish(error));
    socket.on('message', (reply) => {
      if (reply.length >= 2 && reply.readUInt16BE(0) === opts.id) finish(undefined, reply);
    });
    socket.connect(server.port, server.host, () => {
      socket.send(message, (error) => {
        if (error) finish(error);
      });
    });
  });
}

/**
 * Send one message over TCP with the two-byte length prefix (RFC 1035 §4.2.2) and return the
 * first complete reply whose id matches.
 */
export function tcpExchange(server: ServerAddress, message: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const socket = new Socket();
    let buffered = Buffer.alloc(0);
    const finish = settleOnce(
      resolve,
      reject,
      () => socket.destroy(),
      opts.timeoutMs,
      `no answer over TCP within ${opts.timeoutMs} ms`,
    );
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error('connection closed before a full answer arrived')));
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < length + 2) return;
        const reply = buffered.subarray(2, length + 2);
        buffered = buffered.subarray(length + 2);
        if (reply.length >= 2 && reply.readUInt16BE(0) === opts.id) {
          finish(undefined, Buffer.from(reply));
          return;
        }
      }
    });
    socket.connect(server.port, server.host, () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(message.length);
      socket.write(Buffer.concat([prefix, message]));
    });
  });
}

/** The flag bit TC (RFC 1035 §4.1.1) of a raw message. */
export function isTruncated(message: Buffer): boolean {
  return message.length >= 4 && (message.readUInt16BE(2) & dnsPacket.TRUNCATED_RESPONSE) !== 0;
}

const trimName = (name: string): string => name.toLowerCase().replace(/\.$/, '');

function answerData(answer: dnsPacket.Answer): string {
  switch (answer.type) {
    case 'TXT': {
      const parts = Array.isArray(answer.data) ? answer.data : [answer.data];
      return parts.map((p) => (typeof p === 'string' ? p : p.toString('utf8'))).join('');
    }
    case 'CNAME':
    case 'NS':
    case 'DNAME':
    case 'PTR':
      return trimName(answer.data);
    case 'A':
    case 'AAAA':
      return answer.data;
    case 'SOA': {
      const s = answer.data;
      return `${trimName(s.mname)} ${trimName(s.rname)} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    case 'CAA': {
      const c = caaOf(answer.data);
      return `${c.flags} ${c.tag} "${c.value.replace(/(["\\])/g, '\\$1')}"`;
    }
    default:
      return '';
  }
}

function caaOf(data: dnsPacket.CaaData): CaaData {
  return { flags: data.flags ?? 0, tag: String(data.tag).toLowerCase(), value: data.value };
}

function toAnswer(a: dnsPacket.Answer): DnsAnswer {
  return {
    name: trimName(a.name),
    type: a.type,
    ttl: 'ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0,
    data: answerData(a),
    ...(a.type === 'CAA' ? { caa: caaOf(a.data) } : {}),
  };
}

function section(records: dnsPacket.Answer[] | undefined): DnsAnswer[] {
  return (records ?? []).filter((a) => a.type !== 'OPT').map(toAnswer);
}

/**
 * A stub resolver client (RFC 1035 §4.2): UDP with a per-attempt timeout and two retries, and
 * TCP when the UDP answer is truncated (TC bit, RFC 7766 §5). Advertises EDNS(0) with a 1232-byte
 * UDP payload (RFC 6891 §6.2.5) so large TXT sets usually fit in one datagram.
 */
export class UdpDnsClient implements DnsClient {
  /**
   * @param defaults.transport `'tcp'` asks over TCP only (RFC 7766 §6.2.1), e.g. a server just
   *   reached over TCP for an UPDATE, which may not be reachable over UDP. @default 'udp'
   */
  constructor(
    private readonly defaults: { timeoutMs?: number; retries?: number; transport?: 'udp' | 'tcp' } = {},
  ) {}

  async query(
    server: ServerAddress,
    name: string,
    type: QueryType,
    opts: QueryOptions = {},
  ): Promise<DnsResponse> {
    const id = randomMessageId();
    const qname = trimName(name);
    const message = dnsPacket.encode({
      type: 'query',
      id,
      flags: opts.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
      questions: [{ type, name: qname, class: 'IN' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ],
    });
    const exchange: ExchangeOptions = {
      id,
      timeoutMs: opts.timeoutMs ?? this.defaults.timeoutMs ?? 2000,
      retries: this.defaults.retries ?? 2,
    };
    const describe = `${type} ${qname} at ${formatServer(server)}`;
    let raw: Buffer;
    try {
      if (this.defaults.transport === 'tcp') raw = await tcpExchange(server, message, exchange);
      else {
        raw = await udpExchange(server, message, exchange);
        if (isTruncated(raw)) raw = await tcpExchange(server, message, exchange);
      }
    } catch (error) {
      throw new DnsQueryError(`DNS query ${describe} failed: ${errorText(error)}`, { cause: error });
    }
    let decoded: Decoded;
    try {
      decoded = dnsPacket.decode(raw);
    } catch (error) {
      throw new DnsQueryError(`DNS query ${describe} returned a malformed answer: ${errorText(error)}`, {
        cause: error,
      });
    }
    const question = decoded.questions?.[0];
    if (question !== undefined && (trimName(question.name) !== qname || question.type !== type)) {
      throw new DnsQueryError(
        `DNS query ${describe} was answered for a different question (${question.type} ${question.name})`,
      );
    }
    return {
      rcode: decoded.rcode ?? 'NOERROR',
      authoritative: decoded.flag_aa,
      answers: section(decoded.answers),
      authority: section(decoded.authorities),
      additional: section(decoded.additionals),
    };
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
