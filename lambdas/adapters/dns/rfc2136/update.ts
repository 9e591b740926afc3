import * as dnsPacket from 'dns-packet';
import { formatServer, randomMessageId, tcpExchange } from '../../../core/dns/dns-client';
import { DnsUpdateError } from '../../../core/errors';
import type { ServerAddress } from '../../../core/ports';
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

/** What the caller must do about each refusal; never contains the secret. */
function refusalAdvice(rcode: string, target: UpdateTarget, tsigError?: string): string {
  const { zone, tsig } = target;
  const server = formatServer(target.server);
  switch (tsigError ?? rcode) {
    case 'BADSIG':
      return `the server rejected the TSIG signature (BADSIG): the secret configured for key "${tsig.name}" does not match the server's; check dns.tsig.secretFile / dns.tsig.secretEnv`;
    case 'BADKEY':
      return `the server does not know TSIG key "${tsig.name}" with algorithm ${tsig.algorithm} (BADKEY); check dns.tsig.name and dns.tsig.algorithm against the server's key clause`;
    case 'BADTIME':
      return `the server rejected the signature time (BADTIME); synchronise this machine's clock (NTP) with ${server}`;
    case 'REFUSED':
      return `${server} refused the change in zone ${zone} (REFUSED): the TSIG key "${tsig.name}" may only update TXT records in the delegated zone its update-policy grants (update-policy { grant ${tsig.name} subdomain <delegated zone>. TXT; }); check that ${zone} is that zone and that only TXT records are written`;
    case 'NOTAUTH':
      return `${server} is not authoritative for zone ${zone} (NOTAUTH); point dns.server at the zone's primary server`;
    case 'NOTZONE':
      return `a record is outside zone ${zone} (NOTZONE)`;
    case 'NOTIMP':
    case 'FORMERR':
      return `${server} does not accept dynamic updates for ${zone} (${rcode}); enable RFC 2136 UPDATE for the zone`;
    case 'SERVFAIL':
      return `${server} failed to apply the update to zone ${zone} (SERVFAIL); see the server's log`;
    default:
      return `${server} answered ${rcode} to the update of zone ${zone}`;
  }
}

/**
 * Send one signed UPDATE (RFC 2136 §3, TSIG per RFC 8945 §5) over TCP (RFC 7766) and check the
 * answer: the response must be signed by the same key, its MAC must verify, and its rcode must
 * be NOERROR.
 *
 * @throws DnsUpdateError naming the rcode, the zone and the fix (never the secret).
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
    throw new DnsUpdateError(
      `DNS UPDATE of zone ${target.zone} at ${server} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  let rcode: string;
  let tsigError: string | undefined;
  try {
    rcode = (dnsPacket.decode(response) as dnsPacket.DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR';
    const parsed = parseTsig(response);
    if (parsed !== undefined && parsed.tsig.error !== 0) {
      tsigError = TSIG_ERRORS[parsed.tsig.error] ?? `TSIG error ${parsed.tsig.error}`;
    }
  } catch (error) {
    throw new DnsUpdateError(`DNS UPDATE of zone ${target.zone} at ${server} got a malformed answer`, {
      cause: error,
    });
  }
  if (rcode !== 'NOERROR' || tsigError !== undefined) {
    throw new DnsUpdateError(`DNS UPDATE refused: ${refusalAdvice(rcode, target, tsigError)}`);
  }
  const verified = verifyResponse(response, target.tsig, mac);
  if (!verified.ok) {
    throw new DnsUpdateError(
      `DNS UPDATE of zone ${target.zone} at ${server}: the answer's TSIG signature did not verify (${verified.reason}); the update may or may not have been applied`,
    );
  }
}
