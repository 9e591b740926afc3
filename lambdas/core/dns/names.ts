import { domainToASCII } from 'node:url';

/**
 * Domain-name helpers. All names inside certflow are lowercase A-labels (punycode) without a
 * trailing dot; user input is normalised once, by {@link normalizeDomain}.
 */

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Result of normalising one user-supplied name. */
export type NormalizedName = { ok: true; name: string } | { ok: false; problem: string };

/**
 * Normalise a certificate identifier: IDN to punycode (RFC 5891 via WHATWG `domainToASCII`),
 * lowercase, no trailing dot; a wildcard is allowed only as the whole leftmost label
 * (RFC 8555 §7.1.3).
 */
export function normalizeDomain(input: string, { allowWildcard = true } = {}): NormalizedName {
  const trimmed = input.trim().replace(/\.$/, '');
  if (trimmed === '') return { ok: false, problem: 'is empty' };
  const isWildcard = trimmed.startsWith('*.');
  const rest = isWildcard ? trimmed.slice(2) : trimmed;
  if (rest.includes('*')) {
    return {
      ok: false,
      problem: `"${input}" has a "*" that is not the whole leftmost label; write "*.example.com"`,
    };
  }
  if (isWildcard && !allowWildcard) return { ok: false, problem: `"${input}" may not be a wildcard` };
  const ascii = domainToASCII(rest).toLowerCase();
  if (ascii === '') return { ok: false, problem: `"${input}" is not a valid domain name` };
  const labels = ascii.split('.');
  if (labels.length < 2)
    return { ok: false, problem: `"${input}" needs at least two labels, e.g. "example.com"` };
  for (const label of labels) {
    if (!LABEL.test(label)) {
      return {
        ok: false,
        problem: `"${input}" has an invalid label "${label}" (letters, digits and inner hyphens, 1-63 characters)`,
      };
    }
  }
  if (ascii.length > 253) return { ok: false, problem: `"${input}" is longer than 253 characters` };
  return { ok: true, name: isWildcard ? `*.${ascii}` : ascii };
}

/** The name without a leading `*.`. */
export function baseName(domain: string): string {
  return domain.startsWith('*.') ? domain.slice(2) : domain;
}

/** `_acme-challenge.<name>` for a certificate identifier (wildcards share the base name, RFC 8555 §8.4). */
export function challengeName(domain: string): string {
  return `_acme-challenge.${baseName(domain)}`;
}

/**
 * A DNS name as certflow compares it: lowercase (names compare case-insensitively, RFC 4343 §3)
 * and without the trailing dot of the fully qualified form. The one place this is written.
 */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** True when `name` equals `zone` or lies below it. */
export function isAtOrBelow(name: string, zone: string): boolean {
  const n = canonicalName(name);
  const z = canonicalName(zone);
  return n === z || n.endsWith(`.${z}`);
}

/**
 * The CNAME target certflow suggests for a name: the name's labels under the delegated zone,
 * e.g. `www.example.com` + `acme.example.net` → `www.example.com.acme.example.net`.
 */
export function suggestedDelegationTarget(domain: string, delegatedZone: string): string {
  return `${baseName(domain)}.${delegatedZone}`;
}

/** The exact record a user must add to the primary zone, in zone-file form. */
export function delegationRecord(domain: string, delegatedZone: string): string {
  return `${challengeName(domain)}. CNAME ${suggestedDelegationTarget(domain, delegatedZone)}.`;
}
