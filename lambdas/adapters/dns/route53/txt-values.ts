import { canonicalName } from '../../../core/dns/names';
/**
 * Route 53's text forms of TXT data and record names. Route 53 writes each TXT character-string
 * (RFC 1035 §3.3.14) in double quotes, with `\"`, `\\` and `\ddd` (octal) escapes, and returns
 * record names with a trailing dot and special characters as `\ddd` octal escapes.
 */

/** Longest single TXT character-string, in octets (RFC 1035 §3.3: one length octet). */
export const MAX_TXT_STRING_OCTETS = 255;

/**
 * Quote one value as a single Route 53 TXT character-string. Returns undefined when the value
 * does not fit in one character-string (over 255 octets).
 */
export function quoteTxtValue(value: string): string | undefined {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > MAX_TXT_STRING_OCTETS) return undefined;
  let out = '"';
  for (const byte of bytes) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte <= 0x7e) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/**
 * Decode a Route 53 TXT value (one or more quoted character-strings, or an unquoted word) into
 * the text a resolver would return, with the strings concatenated (as ACME CAs read them).
 */
export function unquoteTxtValue(raw: string): string {
  const bytes: number[] = [];
  let i = 0;
  const pushEscape = (): void => {
    // raw[i] is the backslash.
    const digits = raw.slice(i + 1, i + 4);
    if (/^[0-7]{3}$/.test(digits)) {
      bytes.push(Number.parseInt(digits, 8) & 0xff);
      i += 4;
    } else if (i + 1 < raw.length) {
      bytes.push(...Buffer.from(raw.charAt(i + 1), 'utf8'));
      i += 2;
    } else {
      i += 1;
    }
  };
  while (i < raw.length) {
    const ch = raw.charAt(i);
    if (ch === '"') {
      i += 1;
      while (i < raw.length && raw[i] !== '"') {
        if (raw[i] === '\\') pushEscape();
        else {
          bytes.push(...Buffer.from(raw.charAt(i), 'utf8'));
          i += 1;
        }
      }
      i += 1; // closing quote
    } else if (ch === ' ' || ch === '\t') {
      i += 1;
    } else if (ch === '\\') {
      pushEscape();
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A Route 53 record name as certflow writes names: `\ddd` decoded, lowercase, no trailing dot. */
export function normalizeRoute53Name(name: string): string {
  return canonicalName(
    name.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
  );
}
