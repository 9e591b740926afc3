import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { UdpDnsClient } from '../../lambdas/adapters/dns/transport/udp-dns-client';
import { DnsQueryError } from '../../lambdas/core/errors';
import { freeDnsPort } from '../../local/ports';

/**
 * How the DNS client reaches a server, against real sockets on loopback: UDP first, then TCP
 * (RFC 7766 §5) when the UDP answer is truncated, when UDP gets no answer, and when nothing
 * listens on the UDP port. Every failure is a DnsQueryError naming the question and the server.
 */
describe('DNS queries over UDP, then TCP', () => {
  const NAME = 'www.example.test.acme.certflow.test';
  let port: number;
  let tcp: Server | undefined;
  let udp: UdpSocket | undefined;
  const seen = { tcp: 0, udp: 0 };

  const answerTo = (query: Buffer, opts: { truncated?: boolean } = {}): Buffer => {
    const q = dnsPacket.decode(query);
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (opts.truncated ? dnsPacket.TRUNCATED_RESPONSE : 0),
      questions: q.questions,
      answers: opts.truncated ? [] : [{ type: 'TXT', name: NAME, ttl: 60, data: 'over-tcp-or-udp' }],
    });
  };

  /** A TCP DNS server on `port` answering every query with one TXT record. */
  const serveTcp = () =>
    new Promise<void>((resolve) => {
      tcp = createServer((socket) => {
        seen.tcp += 1;
        let buffered = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          buffered = Buffer.concat([buffered, chunk]);
          if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
          const reply = answerTo(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
          const frame = Buffer.alloc(2);
          frame.writeUInt16BE(reply.length);
          socket.end(Buffer.concat([frame, reply]));
        });
      });
      tcp.listen(port, '127.0.0.1', () => resolve());
    });
  /** A UDP socket on `port` that truncates every answer, or never answers. */
  const serveUdp = (mode: 'truncate' | 'silent') =>
    new Promise<void>((resolve) => {
      udp = createSocket('udp4');
      udp.on('message', (message, from) => {
        seen.udp += 1;
        if (mode === 'truncate') udp?.send(answerTo(message, { truncated: true }), from.port, from.address);
      });
      udp.bind(port, '127.0.0.1', () => resolve());
    });

  beforeEach(async () => {
    port = await freeDnsPort();
    seen.tcp = 0;
    seen.udp = 0;
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => (tcp ? tcp.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (udp ? udp.close(() => resolve()) : resolve()));
    tcp = undefined;
    udp = undefined;
  });

  const client = new UdpDnsClient({ timeoutMs: 300, retries: 1 });
  const server = () => ({ host: '127.0.0.1', port });

  it('a server reachable over TCP only (nothing on its UDP port) answers over TCP', async () => {
    await serveTcp();
    const res = await client.query(server(), NAME, 'TXT');
    expect(res.answers.map((a) => a.data)).toEqual(['over-tcp-or-udp']);
    expect(seen.tcp).toBe(1);
  });

  it('a server whose UDP never answers is asked over TCP after the UDP attempts', async () => {
    await serveTcp();
    await serveUdp('silent');
    const started = Date.now();
    const res = await client.query(server(), NAME, 'TXT');
    expect(res.answers.map((a) => a.data)).toEqual(['over-tcp-or-udp']);
    expect(seen).toEqual({ udp: 2, tcp: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 300 - 20);
  });

  it('a truncated UDP answer (TC) is asked again over TCP', async () => {
    await serveTcp();
    await serveUdp('truncate');
    const res = await client.query(server(), NAME, 'TXT');
    expect(res.answers.map((a) => a.data)).toEqual(['over-tcp-or-udp']);
    expect(seen).toEqual({ udp: 1, tcp: 1 });
  });

  it('no answer over UDP nor TCP: a DnsQueryError naming the question, the server and both failures', async () => {
    await serveUdp('silent');
    const failure = client.query(server(), NAME, 'TXT');
    await expect(failure).rejects.toThrow(DnsQueryError);
    await expect(failure).rejects.toThrow(
      new RegExp(
        `^DNS query TXT ${NAME.replace(/\./g, '\\.')} at 127\\.0\\.0\\.1:${port} failed: no answer over UDP in 2 attempts of 300 ms, and over TCP: connect ECONNREFUSED`,
      ),
    );
  });
});
