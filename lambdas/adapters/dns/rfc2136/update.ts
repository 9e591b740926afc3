import * as dnsPacket from 'dns-packet';
import { formatServer } from '../../../core/dns/dns-client';
import { randomMessageId } from '../../../core/dns/message';
import { DnsUpdateError, DnsUpdateUnavailableError, errorMessage } from '../../../core/errors';
import type { ServerAddress } from '../../../core/ports';
import { NoAnswerError, tcpExchange } from '../transport/exchange';
import { type AnswerSignature, describeRefusal } from './refusal';
import { parseTsig, signMessage, TSIG_ERRORS, type TsigKey, verifyResponse } from './tsig';
import { CLASS_IN, CLASS_NONE, codecs, HEADER } from './wire';

/** OPCODE UPDATE (RFC 2136 §1.3). */
const OPCODE_UPDATE = 5;

/**
 * One entry of the Update section (RFC 2136 §2.5): `add` is §2.5.1 (class IN, the record's
 * TTL); `delete` is §2.5.4, delete one RR from an RRset (class NONE, TTL 0) — never a whole
 * RRset.
 */
export type UpdateOperation = { op: 'add' | 'delete'; record: UpdateRecord };

/** A resource record as `dns-packet` encodes it; the class is set by the operation. */
export type UpdateRecord = Exclude<dnsPacket.Answer, dnsPacket.OptAnswer>;

/** Encode an UPDATE message: Zone section = `zone SOA IN` (§2.3), no prerequisites (§2.4). */
export function encodeUpdate(zone: string, id: number, operations: UpdateOperation[]): Buffer {
  const head = dnsPacket.encode({
    type: 'query',
    id,
    flags: OPCODE_UPDATE << 11,
    questions: [{ name: zone, type: 'SOA', class: 'IN' }],
  });
  const updates = operations.map(({ op, record }) => {
    const rr = codecs.answer.encode(record);
    // Class and TTL follow the owner name and type. dns-packet cannot name class NONE.
    const classOffset = codecs.name.encodingLength(record.name) + 2;
    rr.writeUInt16BE(op === 'add' ? CLASS_IN : CLASS_NONE, classOffset);
    if (op === 'delete') rr.writeUInt32BE(0, classOffset + 2);
    return rr;
  });
  const message = Buffer.concat([head, ...updates]);
  message.writeUInt16BE(operations.length, HEADER.nscount);
  return message;
}

export interface UpdateTarget {
  server: ServerAddress;
  zone: string;
  tsig: TsigKey;
  timeoutMs?: number;
}

/** How the answer was signed, checked against our request's MAC (RFC 8945 §5.3). */
export function answerSignature(response: Buffer, key: TsigKey, requestMac: Buffer): AnswerSignature {
  const parsed = parseTsig(response);
  if (parsed === undefined) return { kind: 'unsigned' };
  if (parsed.tsig.error !== 0) {
    return { kind: 'tsig-error', error: TSIG_ERRORS[parsed.tsig.error] ?? `TSIG error ${parsed.tsig.error}` };
  }
  const verified = verifyResponse(response, key, requestMac);
  return verified.ok ? { kind: 'signed' } : { kind: 'unverified', reason: verified.reason };
}

/**
 * Send one signed UPDATE (RFC 2136 §3, TSIG per RFC 8945 §5) over TCP (RFC 7766) and check the
 * answer: the response must be signed by the same key, its MAC must verify, and its rcode must
 * be NOERROR. A refusal is explained by {@link describeRefusal}, which tells a signed refusal
 * (the server's policy) from an unsigned one (the server did not accept our TSIG).
 *
 * @throws DnsUpdateError naming the rcode, the server, the zone, the key name and the fix (never the secret).
 * @throws DnsUpdateUnavailableError when the server cannot be reached or does not answer;
 *   `unanswered` when the UPDATE was sent and no answer came (it may still be applied).
 */
export async function sendUpdate(target: UpdateTarget, operations: UpdateOperation[]): Promise<void> {
  const id = randomMessageId();
  const { signed, mac } = signMessage(encodeUpdate(target.zone, id, operations), target.tsig);
  const server = formatServer(target.server);
  let response: Buffer;
  try {
    response = await tcpExchange(target.server, signed, {
      id,
      timeoutMs: target.timeoutMs ?? 5000,
      retries: 0,
    });
  } catch (error) {
    const unanswered = error instanceof NoAnswerError && error.sent;
    throw new DnsUpdateUnavailableError(
      `DNS UPDATE of zone ${target.zone} at ${server} failed: ${errorMessage(error)}${unanswered ? '; the server may still apply it' : ''}`,
      { cause: error, unanswered },
    );
  }
  let rcode: string;
  let signature: AnswerSignature;
  try {
    rcode = (dnsPacket.decode(response) as dnsPacket.DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR';
    signature = answerSignature(response, target.tsig, mac);
  } catch (error) {
    throw new DnsUpdateError(`DNS UPDATE of zone ${target.zone} at ${server} got a malformed answer`, {
      cause: error,
    });
  }
  if (rcode === 'NOERROR' && signature.kind === 'signed') return;
  if (rcode === 'NOERROR' && signature.kind !== 'tsig-error') {
    const reason = signature.kind === 'unverified' ? signature.reason : 'unsigned';
    throw new DnsUpdateError(
      `DNS UPDATE of zone ${target.zone} at ${server}: the answer's TSIG signature did not verify (${reason}); the update may or may not have been applied`,
    );
  }
  throw new (rcode === 'SERVFAIL' ? DnsUpdateUnavailableError : DnsUpdateError)(
    describeRefusal(rcode, signature, {
      server: target.server,
      zone: target.zone,
      keyName: target.tsig.name,
      algorithm: target.tsig.algorithm,
    }),
  );
}
