/**
 * A loopback DNS proxy in front of a real server, to inject faults mid-run: every message is
 * forwarded as it is (TCP, RFC 7766 two-byte framing; and UDP), except RFC 2136 UPDATEs, which a
 * policy may answer itself with an rcode (e.g. REFUSED) instead of forwarding. Queries (the
 * rfc2136 adapter's read-back over TCP, propagation checks, resolution) always pass.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { parseTsig, signMessage, type TsigKey } from '../../lambdas/adapters/dns/rfc2136/tsig';
import type { ServerAddress } from '../../lambdas/core/ports';
import { freeDnsPort } from '../../local/ports';

/** OPCODE UPDATE (RFC 2136 §1.3). */
const OPCODE_UPDATE = 5;
/** RCODEs (RFC 1035 §4.1.1, RFC 2136 §2.2). */
export const RCODE = { SERVFAIL: 2, REFUSED: 5, NOTAUTH: 9 } as const;

/**
 * What to do with the n-th UPDATE (1-based): forward it, answer it with this rcode, or hold it:
 * answer nothing (the client times out) and forward it to the server once `hold` resolves, as a
 * late UPDATE reaches a server after its sender gave up.
 */
export type UpdatePolicy = (n: number) => 'forward' | { rcode: number } | { hold: Promise<void> };

/** What to do with the n-th query (1-based): forward it, or answer it with this rcode (e.g. SERVFAIL). */
export type QueryPolicy = (n: number) => 'forward' | { rcode: number };

export interface DnsProxy {
  address: ServerAddress;
  /** UPDATEs seen, forwarded, and answered by the proxy itself. */
  readonly updates: { seen: number; forwarded: number; answered: number };
  /** Queries (any other opcode) forwarded. */
  readonly queries: number;
  /** Queries that came over TCP, and over UDP (answered or not). */
  readonly transports: { tcp: number; udp: number };
  /** Held UPDATEs, each settled once forwarded to the server (resolves with its rcode). */
  readonly late: Promise<number>[];
  close(): Promise<void>;
}

const opcodeOf = (message: Buffer): number => (message.length >= 3 ? (message[2] >> 3) & 0x0f : -1);

/** Offset just past the question (Zone section) that starts at byte 12. */
function afterFirstQuestion(message: Buffer): number {
  let offset = 12;
  while (offset < message.length) {
    const len = message[offset];
    if (len === 0) return offset + 1 + 4;
    if ((len & 0xc0) === 0xc0) return offset + 2 + 4;
    offset += 1 + len;
  }
  return message.length;
}

/**
 * The server's answer to an UPDATE it will not apply: the request's header and Zone section, QR
 * set, the rcode; signed with `key` over the request's MAC (RFC 8945 §5.3), as BIND signs a
 * refusal of its update policy, or unsigned without a key.
 */
export function updateAnswer(request: Buffer, rcode: number, key?: TsigKey): Buffer {
  const end = Math.min(afterFirstQuestion(request), request.length);
  const answer = Buffer.from(request.subarray(0, end));
  answer[2] = 0x80 | (OPCODE_UPDATE << 3); // QR, opcode UPDATE
  answer[3] = rcode & 0x0f;
  answer.writeUInt16BE(1, 4); // ZOCOUNT
  answer.writeUInt16BE(0, 6);
  answer.writeUInt16BE(0, 8);
  answer.writeUInt16BE(0, 10);
  const requestTsig = key ? parseTsig(request) : undefined;
  if (!key || !requestTsig) return answer;
  return signMessage(answer, key, { requestMac: requestTsig.tsig.mac }).signed;
}

/** A query's answer with no records and this rcode (RFC 1035 §4.1.1): the question, QR and RA set. */
export function queryAnswer(request: Buffer, rcode: number): Buffer {
  const end = Math.min(afterFirstQuestion(request), request.length);
  const answer = Buffer.from(request.subarray(0, end));
  answer[2] = 0x80 | (request[2] & 0x79); // QR, the request's opcode and RD
  answer[3] = 0x80 | (rcode & 0x0f); // RA, rcode
  answer.writeUInt16BE(1, 4);
  answer.writeUInt16BE(0, 6);
  answer.writeUInt16BE(0, 8);
  answer.writeUInt16BE(0, 10);
  return answer;
}

/** The same answer cut to its header and question with TC set (RFC 1035 §4.1.1, RFC 7766 §5). */
function truncated(reply: Buffer): Buffer {
  const end = Math.min(afterFirstQuestion(reply), reply.length);
  const cut = Buffer.from(reply.subarray(0, end));
  cut[2] |= 0x02;
  cut.writeUInt16BE(0, 6);
  cut.writeUInt16BE(0, 8);
  cut.writeUInt16BE(0, 10);
  return cut;
}

/** One framed exchange with the upstream over a fresh TCP connection. */
function tcpForward(upstream: ServerAddress, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: upstream.host, port: upstream.port });
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('upstream timeout'));
    }, 10_000);
    socket.on('connect', () => {
      const frame = Buffer.alloc(2 + message.length);
      frame.writeUInt16BE(message.length, 0);
      message.copy(frame, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.end();
        resolve(buffer.subarray(2, 2 + buffer.readUInt16BE(0)));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Start a proxy on a free loopback port (TCP and UDP) in front of `upstream`. */
export async function startDnsProxy(options: {
  upstream: ServerAddress;
  updatePolicy: UpdatePolicy;
  /** Sign the proxy's own answers with this key (the server's key), as BIND signs a policy refusal. */
  signWith?: TsigKey;
  /** Hold each query's answer this long before passing it on (a slow path to the server). @default 0 */
  queryDelayMs?: number;
  /** Queries: forward (default) or answer with an rcode. */
  queryPolicy?: QueryPolicy;
  /**
   * UDP: `serve` (default); `closed`, nothing listens on the UDP port (the kernel answers ICMP
   * port unreachable), a server reachable over TCP only; `truncate`, every UDP answer cut to its
   * header with TC set, so a client must ask again over TCP.
   */
  udp?: 'serve' | 'closed' | 'truncate';
}): Promise<DnsProxy> {
  const port = await freeDnsPort();
  const updates = { seen: 0, forwarded: 0, answered: 0 };
  let queries = 0;
  let queriesSeen = 0;
  const transports = { tcp: 0, udp: 0 };
  const late: Promise<number>[] = [];
  const sockets = new Set<Socket>();

  /** The answer to one message (forwarded or the policy's own), or undefined to answer nothing. */
  const answer = async (
    message: Buffer,
    forward: (m: Buffer) => Promise<Buffer>,
  ): Promise<Buffer | undefined> => {
    if (opcodeOf(message) === OPCODE_UPDATE) {
      updates.seen += 1;
      const decision = options.updatePolicy(updates.seen);
      if (typeof decision === 'object' && 'hold' in decision) {
        late.push(
          decision.hold.then(async () => {
            updates.forwarded += 1;
            const reply = await tcpForward(options.upstream, message);
            return reply[3] & 0x0f;
          }),
        );
        return undefined;
      }
      if (decision !== 'forward') {
        updates.answered += 1;
        return updateAnswer(message, decision.rcode, options.signWith);
      }
      updates.forwarded += 1;
    } else {
      queriesSeen += 1;
      const decision = options.queryPolicy?.(queriesSeen) ?? 'forward';
      if (decision !== 'forward') return queryAnswer(message, decision.rcode);
      queries += 1;
      if (options.queryDelayMs) await new Promise((resolve) => setTimeout(resolve, options.queryDelayMs));
    }
    return forward(message);
  };

  const tcp: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    let buffer = Buffer.alloc(0);
    let chain = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        const message = buffer.subarray(2, 2 + buffer.readUInt16BE(0));
        buffer = buffer.subarray(2 + message.length);
        chain = chain.then(async () => {
          try {
            if (opcodeOf(message) !== OPCODE_UPDATE) transports.tcp += 1;
            const reply = await answer(message, (m) => tcpForward(options.upstream, m));
            if (reply === undefined) return;
            const frame = Buffer.alloc(2 + reply.length);
            frame.writeUInt16BE(reply.length, 0);
            reply.copy(frame, 2);
            if (!client.destroyed) client.write(frame);
          } catch {
            client.destroy();
          }
        });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, '127.0.0.1', () => resolve());
  });

  const udpMode = options.udp ?? 'serve';
  const udp = udpMode === 'closed' ? undefined : createSocket('udp4');
  if (udp) {
    udp.on('message', (message: Buffer, from: RemoteInfo) => {
      transports.udp += 1;
      void answer(message, (m) => udpForward(options.upstream, m)).then(
        (reply) => {
          if (reply !== undefined)
            udp.send(udpMode === 'truncate' ? truncated(reply) : reply, from.port, from.address);
        },
        () => undefined,
      );
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, '127.0.0.1', () => resolve());
    });
  }

  return {
    address: { host: '127.0.0.1', port },
    updates,
    transports,
    late,
    get queries() {
      return queries;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}

function udpForward(upstream: ServerAddress, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('upstream timeout'));
    }, 5000);
    socket.once('message', (reply: Buffer) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.send(message, upstream.port, upstream.host);
  });
}
