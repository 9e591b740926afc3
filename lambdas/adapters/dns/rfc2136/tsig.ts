import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalName } from '../../../core/dns/names';
import { canonicalWireName, codecs, HEADER, recordSpans } from './wire';

/** HMAC algorithms of RFC 8945 §6 that certflow signs with (HMAC-MD5 is deliberately absent). */
export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512' | 'hmac-sha1';

export const TSIG_ALGORITHMS: readonly TsigAlgorithm[] = [
  'hmac-sha256',
  'hmac-sha384',
  'hmac-sha512',
  'hmac-sha1',
];

/** A TSIG key. `secret` is base64 and must never appear in messages or logs. */
export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: string;
}

const HASH: Record<TsigAlgorithm, string> = {
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
  'hmac-sha1': 'sha1',
};

/** TSIG error codes (RFC 8945 §3, IANA "DNS RCODEs"). */
export const TSIG_ERRORS: Record<number, string> = {
  0: 'NOERROR',
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  22: 'BADTRUNC',
};

/** Default fudge: permitted clock skew in seconds (RFC 8945 §10 recommends 300). */
export const DEFAULT_FUDGE = 300;

/** The TSIG RR's fields (RFC 8945 §4.2). */
export interface TsigRecord {
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

/** A message's TSIG RR and the message as it was before signing. */
export interface ParsedTsig {
  tsig: TsigRecord;
  /** The message without its TSIG RR, ARCOUNT decremented and the original id restored (RFC 8945 §4.3.1). */
  unsigned: Buffer;
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

function u48(value: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(value / 2 ** 32));
  b.writeUInt32BE(value % 2 ** 32, 2);
  return b;
}

function keyBytes(key: TsigKey): Buffer {
  return Buffer.from(key.secret, 'base64');
}

/** The TSIG variables that are digested after the message (RFC 8945 §4.3.3). */
function tsigVariables(
  key: TsigKey,
  t: Omit<TsigRecord, 'mac' | 'originalId' | 'keyName' | 'algorithm'>,
): Buffer {
  return Buffer.concat([
    canonicalWireName(key.name),
    u16(255), // CLASS ANY
    Buffer.alloc(4), // TTL 0
    canonicalWireName(key.algorithm),
    u48(t.timeSigned),
    u16(t.fudge),
    u16(t.error),
    u16(t.other.length),
    t.other,
  ]);
}

/**
 * The MAC of a message (RFC 8945 §4.3): for a request, HMAC(message ‖ variables); for a response,
 * HMAC(request MAC length ‖ request MAC ‖ message ‖ variables) (§4.3.1).
 */
export function computeMac(
  key: TsigKey,
  unsignedMessage: Buffer,
  fields: { timeSigned: number; fudge: number; error?: number; other?: Buffer },
  requestMac?: Buffer,
): Buffer {
  const hmac = createHmac(HASH[key.algorithm], keyBytes(key));
  if (requestMac !== undefined) {
    hmac.update(u16(requestMac.length));
    hmac.update(requestMac);
  }
  hmac.update(unsignedMessage);
  hmac.update(
    tsigVariables(key, {
      timeSigned: fields.timeSigned,
      fudge: fields.fudge,
      error: fields.error ?? 0,
      other: fields.other ?? Buffer.alloc(0),
    }),
  );
  return hmac.digest();
}

/**
 * Sign a complete message (RFC 8945 §5.1): compute the MAC and append the TSIG RR as the last
 * additional record. `requestMac` makes it a signed response (§5.3).
 */
export function signMessage(
  message: Buffer,
  key: TsigKey,
  opts: { timeSigned?: number; fudge?: number; requestMac?: Buffer; error?: number } = {},
): { signed: Buffer; mac: Buffer } {
  const timeSigned = opts.timeSigned ?? Math.floor(Date.now() / 1000);
  const fudge = opts.fudge ?? DEFAULT_FUDGE;
  const error = opts.error ?? 0;
  const mac = computeMac(key, message, { timeSigned, fudge, error }, opts.requestMac);
  const rdata = Buffer.concat([
    canonicalWireName(key.algorithm),
    u48(timeSigned),
    u16(fudge),
    u16(mac.length),
    mac,
    u16(message.readUInt16BE(HEADER.id)),
    u16(error),
    u16(0),
  ]);
  const rr = codecs.answer.encode({
    name: canonicalName(key.name),
    type: 'TSIG',
    class: 'ANY',
    ttl: 0,
    data: rdata,
  });
  const signed = Buffer.concat([message, rr]);
  signed.writeUInt16BE(message.readUInt16BE(HEADER.arcount) + 1, HEADER.arcount);
  return { signed, mac };
}

/** Find and decode the TSIG RR, which must be the last additional record (RFC 8945 §5.2). */
export function parseTsig(message: Buffer): ParsedTsig | undefined {
  const spans = recordSpans(message);
  const last = spans[spans.length - 1];
  if (last === undefined || last.section !== 'additional' || last.record.type !== 'TSIG') return undefined;
  // Walk the RDATA in the whole message, so a (non-conforming) compressed algorithm name still decodes.
  let offset = last.start;
  codecs.name.decode(message, offset);
  offset += codecs.name.decode.bytes + 10; // type, class, ttl, rdlength
  const algorithm = codecs.name.decode(message, offset).toLowerCase();
  offset += codecs.name.decode.bytes;
  const timeSigned = message.readUInt16BE(offset) * 2 ** 32 + message.readUInt32BE(offset + 2);
  const fudge = message.readUInt16BE(offset + 6);
  const macSize = message.readUInt16BE(offset + 8);
  const mac = Buffer.from(message.subarray(offset + 10, offset + 10 + macSize));
  offset += 10 + macSize;
  const originalId = message.readUInt16BE(offset);
  const error = message.readUInt16BE(offset + 2);
  const otherLen = message.readUInt16BE(offset + 4);
  const other = Buffer.from(message.subarray(offset + 6, offset + 6 + otherLen));
  const unsigned = Buffer.from(message.subarray(0, last.start));
  unsigned.writeUInt16BE(originalId, HEADER.id);
  unsigned.writeUInt16BE(message.readUInt16BE(HEADER.arcount) - 1, HEADER.arcount);
  return {
    tsig: {
      keyName: last.record.name.toLowerCase(),
      algorithm,
      timeSigned,
      fudge,
      mac,
      originalId,
      error,
      other,
    },
    unsigned,
  };
}

/** Outcome of checking a response's signature. */
export type TsigVerification =
  | { ok: true }
  | { ok: false; reason: 'unsigned' | 'wrong-key' | 'bad-mac' | 'bad-time' | 'tsig-error'; error?: string };

/**
 * Check a signed response against the request's MAC (RFC 8945 §5.3.1 and §5.2.3): same key
 * and algorithm, a MAC that matches, and a time within the fudge.
 */
export function verifyResponse(
  response: Buffer,
  key: TsigKey,
  requestMac: Buffer,
  now: number = Math.floor(Date.now() / 1000),
): TsigVerification {
  const parsed = parseTsig(response);
  if (parsed === undefined) return { ok: false, reason: 'unsigned' };
  const { tsig, unsigned } = parsed;
  if (tsig.error !== 0) {
    return { ok: false, reason: 'tsig-error', error: TSIG_ERRORS[tsig.error] ?? `TSIG error ${tsig.error}` };
  }
  if (
    canonicalName(tsig.keyName) !== canonicalName(key.name) ||
    canonicalName(tsig.algorithm) !== key.algorithm
  ) {
    return { ok: false, reason: 'wrong-key' };
  }
  const expected = computeMac(key, unsigned, tsig, requestMac);
  if (expected.length !== tsig.mac.length || !timingSafeEqual(expected, tsig.mac)) {
    return { ok: false, reason: 'bad-mac' };
  }
  if (Math.abs(now - tsig.timeSigned) > tsig.fudge) return { ok: false, reason: 'bad-time' };
  return { ok: true };
}
