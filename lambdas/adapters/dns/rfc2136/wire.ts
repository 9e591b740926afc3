import * as dnsPacket from 'dns-packet';
import { canonicalName } from '../../../core/dns/names';

/**
 * Typed access to the per-part codecs `dns-packet` exports at runtime but its type declarations
 * omit (`name`, `question`, `answer`), plus helpers for walking a message section by section.
 * All wire encoding still goes through `dns-packet`.
 */
type Encoder<T> = ((value: T, buf?: Buffer, offset?: number) => Buffer) & { bytes: number };
type Decoder<T> = ((buf: Buffer, offset?: number) => T) & { bytes: number };

interface Codec<T> {
  encode: Encoder<T>;
  decode: Decoder<T>;
  encodingLength(value: T): number;
}

interface PartCodecs {
  name: Codec<string>;
  question: Codec<dnsPacket.Question>;
  answer: Codec<dnsPacket.Answer>;
}

export const codecs = dnsPacket as unknown as PartCodecs;

/** Header offsets (RFC 1035 §4.1.1). */
export const HEADER = {
  id: 0,
  flags: 2,
  qdcount: 4,
  ancount: 6,
  nscount: 8,
  arcount: 10,
  length: 12,
} as const;

/** Class IN (RFC 1035 §3.2.4). */
export const CLASS_IN = 1;
/** Class NONE (RFC 2136 §2.5.4), which `dns-packet` cannot name. */
export const CLASS_NONE = 254;
/** Class ANY (RFC 1035 §3.2.5). */
export const CLASS_ANY = 255;

/** Domain name in canonical wire form: lowercase, uncompressed (RFC 4034 §6.2, RFC 8945 §4.3.3). */
export function canonicalWireName(name: string): Buffer {
  return codecs.name.encode(canonicalName(name));
}

/** One resource record's place in a message. */
export interface RecordSpan {
  section: 'answer' | 'authority' | 'additional';
  start: number;
  end: number;
  record: dnsPacket.Answer;
}

/** Walk every record of a message, returning where each starts and ends (for TSIG, RFC 8945 §5.2). */
export function recordSpans(message: Buffer): RecordSpan[] {
  let offset: number = HEADER.length;
  const qd = message.readUInt16BE(HEADER.qdcount);
  for (let i = 0; i < qd; i++) {
    codecs.question.decode(message, offset);
    offset += codecs.question.decode.bytes;
  }
  const spans: RecordSpan[] = [];
  const sections: [RecordSpan['section'], number][] = [
    ['answer', message.readUInt16BE(HEADER.ancount)],
    ['authority', message.readUInt16BE(HEADER.nscount)],
    ['additional', message.readUInt16BE(HEADER.arcount)],
  ];
  for (const [section, count] of sections) {
    for (let i = 0; i < count; i++) {
      const record = codecs.answer.decode(message, offset);
      const end = offset + codecs.answer.decode.bytes;
      spans.push({ section, start: offset, end, record });
      offset = end;
    }
  }
  return spans;
}
