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
  return isIPv6(server.host) ? 'IPv6' : 'IPv4';
}

/**
 * An exchange that ended without an answer. `sent` tells whether the message left this host
 * (a TCP connection was made and the message written; a UDP datagram was sent): if it did, the
 * server may still act on it later, which matters for an UPDATE (RFC 2136 §3).
 */
export class NoAnswerError extends Error {
  constructor(
    message: string,
    readonly sent: boolean,
  ) {
    super(message);
    this.name = 'NoAnswerError';
  }
}

/**
 * Send one UDP datagram and wait for the reply whose id matches (RFC 1035 §4.2.1), retrying on
 * timeout. Returns the raw reply; throws a plain `Error` (a {@link NoAnswerError} when nothing
 * answered) that callers wrap with context. Never throws outside the returned promise.
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
      if (!(lastError instanceof NoAnswerError)) break;
    }
  }
  if (lastError instanceof NoAnswerError && opts.retries > 0) {
    throw new NoAnswerError(
      `no answer over UDP in ${opts.retries + 1} attempts of ${opts.timeoutMs} ms`,
      lastError.sent,
    );
  }
  throw lastError;
}

/**
 * Settle one socket exchange exactly once: on the reply, an error or the timeout, whichever
 * comes first, clear the timer and close the socket. `sent()` tells the timeout whether the
 * message had left.
 */
function settleOnce(
  resolve: (reply: Buffer) => void,
  reject: (error: Error) => void,
  close: () => void,
  timeoutMs: number,
  timeoutMessage: string,
  sent: () => boolean,
): (error: Error | undefined, reply?: Buffer) => void {
  let done = false;
  const finish = (error: Error | undefined, reply?: Buffer): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    try {
      close();
    } catch {
      // already closed
    }
    if (error !== undefined) reject(error);
    else if (reply !== undefined) resolve(reply);
  };
  const timer = setTimeout(() => finish(new NoAnswerError(timeoutMessage, sent())), timeoutMs);
  return finish;
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/**
 * One datagram out, one reply back. Every socket call sits in a handler that settles the promise:
 * a connect that fails (no route, no address of the family) is an error here, never an
 * exception thrown from an event handler (sending on a socket whose connect failed throws
 * `ERR_SOCKET_BAD_PORT` in Node's dgram).
 */
function udpAttempt(server: ServerAddress, message: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let sent = false;
    let socket: dgram.Socket;
    try {
      socket = dgram.createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    } catch (error) {
      reject(asError(error));
      return;
    }
    const finish = settleOnce(
      resolve,
      reject,
      () => socket.close(),
      opts.timeoutMs,
      `no answer within ${opts.timeoutMs} ms`,
      () => sent,
    );
    socket.on('error', (error) => finish(error));
    socket.on('message', (reply) => {
      if (reply.length >= 2 && reply.readUInt16BE(0) === opts.id) finish(undefined, reply);
    });
    try {
      socket.connect(server.port, server.host, (error?: Error) => {
        if (error) {
          finish(error);
          return;
        }
        try {
          socket.send(message, (sendError) => {
            if (sendError) finish(sendError);
            else sent = true;
          });
        } catch (sendError) {
          finish(asError(sendError));
        }
      });
    } catch (error) {
      finish(asError(error));
    }
  });
}

/**
 * Send one message over TCP with the two-byte length prefix (RFC 1035 §4.2.2) and return the
 * first complete reply whose id matches. Throws {@link NoAnswerError} when the connection was
 * made and the message written but no answer came (timeout, or the server closed first).
 */
export function tcpExchange(server: ServerAddress, message: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const socket = new Socket();
    let sent = false;
    let buffered = Buffer.alloc(0);
    const finish = settleOnce(
      resolve,
      reject,
      () => socket.destroy(),
      opts.timeoutMs,
      `no answer over TCP within ${opts.timeoutMs} ms`,
      () => sent,
    );
    socket.on('error', (error) => finish(error));
    socket.on('close', () =>
      finish(
        sent
          ? new NoAnswerError('the server closed the TCP connection before a full answer arrived', true)
          : new Error('connection closed before the message was sent'),
      ),
    );
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
    try {
      socket.connect(server.port, server.host, () => {
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(message.length);
        sent = true;
        socket.write(Buffer.concat([prefix, message]));
      });
    } catch (error) {
      finish(asError(error));
    }
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
 * TCP when the UDP answer is truncated (TC bit, RFC 7766 §5) or UDP got no answer. Every socket
 * error ends as a {@link DnsQueryError} naming the question and the server; an address this host
 * cannot reach (see {@link isUnroutable}) says which address family it cannot use. Advertises EDNS(0) with a 1232-byte
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
      raw = await this.exchange(server, message, exchange);
    } catch (error) {
      throw new DnsQueryError(
        isUnroutable(error)
          ? `DNS query ${describe} failed: this host cannot reach ${addressFamily(server)} addresses (${errorText(error)})`
          : `DNS query ${describe} failed: ${errorText(error)}`,
        { cause: error },
      );
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

  /**
   * UDP first; TCP (RFC 7766 §5) when the UDP answer is truncated (TC bit), when UDP got no
   * answer, or when the server refused UDP (ICMP port unreachable): a server reachable only over
   * TCP still answers. An address this host cannot reach at all is not retried over TCP.
   */
  private async exchange(server: ServerAddress, message: Buffer, exchange: ExchangeOptions): Promise<Buffer> {
    if (this.defaults.transport === 'tcp') return tcpExchange(server, message, exchange);
    let raw: Buffer;
    try {
      raw = await udpExchange(server, message, exchange);
    } catch (udpError) {
      if (isUnroutable(udpError)) throw udpError;
      try {
        return await tcpExchange(server, message, exchange);
      } catch (tcpError) {
        throw new Error(`${errorText(udpError)}, and over TCP: ${errorText(tcpError)}`, {
          cause: tcpError,
        });
      }
    }
    return isTruncated(raw) ? tcpExchange(server, message, exchange) : raw;
  }
}

/** An error's message (also for errors from another realm, which fail `instanceof Error`). */
function errorText(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
