import { randomInt } from 'node:crypto';
import * as dnsPacket from 'dns-packet';
import { DnsQueryError, errorMessage } from '../errors';
import type { CaaData, DnsAnswer, DnsResponse, QueryType } from './dns-client';
import { canonicalName } from './names';

/**
 * DNS messages as bytes (RFC 1035 §4.1), with no socket: a query to send and the answer read
 * back into a {@link DnsResponse}. The transports (lambdas/adapters/dns/transport) move the bytes.
 */

/** `dns-packet`'s decoded packet also carries the rcode, which its type declarations omit. */
type Decoded = dnsPacket.DecodedPacket & { rcode?: string };

/** A random 16-bit message id (RFC 5452 §9.2 recommends unpredictable ids). */
export function randomMessageId(): number {
  return randomInt(0, 0x10000);
}

/**
 * A query for `name`/`type`, class IN, advertising EDNS(0) with a 1232-byte UDP payload
 * (RFC 6891 §6.2.5) so large TXT sets usually fit in one datagram.
 */
export function encodeQuery(id: number, name: string, type: QueryType, recursionDesired = false): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: recursionDesired ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type, name: canonicalName(name), class: 'IN' }],
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
}

/** The flag bit TC (RFC 1035 §4.1.1) of a raw message. */
export function isTruncated(message: Buffer): boolean {
  return message.length >= 4 && (message.readUInt16BE(2) & dnsPacket.TRUNCATED_RESPONSE) !== 0;
}

/**
 * Read the answer to the question `type name`; `describe` names the question and the server in
 * the errors.
 * @throws DnsQueryError when the answer is malformed or answers a different question.
 */
export function decodeResponse(raw: Buffer, name: string, type: QueryType, describe: string): DnsResponse {
  const qname = canonicalName(name);
  let decoded: Decoded;
  try {
    decoded = dnsPacket.decode(raw);
  } catch (error) {
    throw new DnsQueryError(`DNS query ${describe} returned a malformed answer: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const question = decoded.questions?.[0];
  if (question !== undefined && (canonicalName(question.name) !== qname || question.type !== type)) {
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
      return canonicalName(answer.data);
    case 'A':
    case 'AAAA':
      return answer.data;
    case 'SOA': {
      const s = answer.data;
      return `${canonicalName(s.mname)} ${canonicalName(s.rname)} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
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
    name: canonicalName(a.name),
    type: a.type,
    ttl: 'ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0,
    data: answerData(a),
    ...(a.type === 'CAA' ? { caa: caaOf(a.data) } : {}),
  };
}

function section(records: dnsPacket.Answer[] | undefined): DnsAnswer[] {
  return (records ?? []).filter((a) => a.type !== 'OPT').map(toAnswer);
}
