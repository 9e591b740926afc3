import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import {
  computeMac,
  parseTsig,
  signMessage,
  TSIG_ALGORITHMS,
  type TsigAlgorithm,
  type TsigKey,
  verifyResponse,
} from '../../lambdas/adapters/dns/rfc2136/tsig';

/** What dig (BIND's libdns) sent, what our code made of it, and what dig said about our signed answer. */
interface DigExchange {
  requestMacFromDig: Buffer;
  requestMacOurs: Buffer;
  digOutput: string;
}

/**
 * Run `dig -y` against a one-shot UDP server on 127.0.0.1 that answers with a response signed by
 * our code (with `answerKey`), so both our request-MAC and our response-MAC computations are
 * checked by an independent implementation.
 */
function digExchange(key: TsigKey, answerKey: TsigKey = key): Promise<DigExchange> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    let requestMacFromDig: Buffer = Buffer.alloc(0);
    let requestMacOurs: Buffer = Buffer.alloc(0);
    socket.on('message', (message, peer) => {
      const parsed = parseTsig(message);
      if (parsed === undefined) return;
      requestMacFromDig = parsed.tsig.mac;
      requestMacOurs = computeMac(key, parsed.unsigned, parsed.tsig);
      const query = dnsPacket.decode(parsed.unsigned);
      const answer = dnsPacket.encode({
        type: 'response',
        id: query.id,
        flags: dnsPacket.AUTHORITATIVE_ANSWER,
        questions: query.questions,
        answers: [{ name: 'probe.example.test', type: 'TXT', ttl: 5, data: 'signed by certflow' }],
      });
      socket.send(
        signMessage(answer, answerKey, { requestMac: parsed.tsig.mac }).signed,
        peer.port,
        peer.address,
      );
    });
    socket.bind(0, '127.0.0.1', () => {
      const args = [
        '@127.0.0.1',
        '-p',
        String(socket.address().port),
        '-y',
        `${key.algorithm}:${key.name}:${key.secret}`,
        'probe.example.test',
        'TXT',
        '+tries=1',
        '+time=3',
      ];
      execFile('dig', args, (error, stdout, stderr) => {
        socket.close();
        if (error && !stdout) reject(error);
        else resolve({ requestMacFromDig, requestMacOurs, digOutput: `${stdout}\n${stderr}` });
      });
    });
  });
}

const keyFor = (algorithm: TsigAlgorithm): TsigKey => ({
  name: 'certflow-test.key',
  algorithm,
  secret: Buffer.from(`a shared secret for ${algorithm} tests`).toString('base64'),
});

describe('TSIG (RFC 8945) against BIND 9 dig', () => {
  it.each(TSIG_ALGORITHMS)(
    '%s: our MAC of a request equals dig’s, and dig accepts our signed response',
    async (alg) => {
      const result = await digExchange(keyFor(alg));
      expect(result.requestMacFromDig.length).toBeGreaterThan(0);
      expect(result.requestMacOurs.toString('hex')).toBe(result.requestMacFromDig.toString('hex'));
      expect(result.digOutput).toContain('signed by certflow');
      expect(result.digOutput).not.toMatch(/Couldn't verify|could not be validated/);
    },
  );

  it('dig rejects a response signed with a different secret (so the check above is meaningful)', async () => {
    const key = keyFor('hmac-sha256');
    const result = await digExchange(key, {
      ...key,
      secret: Buffer.from('another secret').toString('base64'),
    });
    expect(result.digOutput).toMatch(/Couldn't verify|could not be validated/);
  });
});

describe('verifyResponse', () => {
  const key = keyFor('hmac-sha256');
  const requestMac = Buffer.alloc(32, 9);
  const response = dnsPacket.encode({
    type: 'response',
    id: 4242,
    flags: 0,
    questions: [{ name: 'a.test', type: 'SOA' }],
  });
  const now = 1_800_000_000;

  it('accepts a response signed over the request MAC with the same key', () => {
    const { signed } = signMessage(response, key, { requestMac, timeSigned: now });
    expect(verifyResponse(signed, key, requestMac, now)).toEqual({ ok: true });
  });

  it('rejects a tampered response, one signed for another request, an unsigned one and a stale one', () => {
    const { signed } = signMessage(response, key, { requestMac, timeSigned: now });
    const tampered = Buffer.from(signed);
    tampered.writeUInt16BE(tampered.readUInt16BE(2) | 0x0005, 2); // rcode REFUSED
    expect(verifyResponse(tampered, key, requestMac, now)).toMatchObject({ ok: false, reason: 'bad-mac' });
    expect(verifyResponse(signed, key, Buffer.alloc(32, 1), now)).toMatchObject({
      ok: false,
      reason: 'bad-mac',
    });
    expect(verifyResponse(response, key, requestMac, now)).toMatchObject({ ok: false, reason: 'unsigned' });
    expect(verifyResponse(signed, key, requestMac, now + 301)).toMatchObject({
      ok: false,
      reason: 'bad-time',
    });
    expect(verifyResponse(signed, { ...key, name: 'other' }, requestMac, now)).toMatchObject({
      ok: false,
      reason: 'wrong-key',
    });
  });
});
