/**
 * Compact certificate declarations. A deployment with a thousand single-name certificates
 * should not need a thousand five-line blocks:
 *
 * ```json
 * "certificateDefaults": { "stores": ["acm"], "keyType": "ecdsa-p256" },
 * "certificates": ["api.example.com", "*.tenants.example.com", { "name": "www", "domains": ["example.com", "www.example.com"] }]
 * ```
 *
 * A string is a certificate for that one name, named after it (`api-example-com`,
 * `wildcard-tenants-example-com`); `certificateDefaults` fills `keyType`, `stores` and
 * `acmRegions` of every certificate that does not set its own. Expansion happens before
 * validation, so every rule sees full certificates.
 */
import { normalizeDomain } from '../dns/names';
import { arr, obj, str } from './loose';

/** The fields `certificateDefaults` may set. */
const DEFAULTED = ['keyType', 'stores', 'acmRegions'] as const;

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * The certificate name for a one-name declaration: the name in A-labels, `*.` as `wildcard-`,
 * dots as hyphens (`*.Tenants.example.com` → `wildcard-tenants-example-com`); undefined when
 * that is not a valid certificate name (longer than 63 characters).
 */
export function certificateNameFor(domain: string): string | undefined {
  const n = normalizeDomain(domain);
  if (!n.ok) return undefined;
  const name = n.name.replace(/^\*\./, 'wildcard.').replace(/\./g, '-');
  return NAME.test(name) ? name : undefined;
}

/** The input with every string certificate written out and `certificateDefaults` applied. */
export function expandCertificates(input: unknown): unknown {
  const root = obj(input);
  if (!Array.isArray(root.certificates)) return input;
  const defaults = obj(root.certificateDefaults);
  const inherited = Object.fromEntries(DEFAULTED.filter((k) => k in defaults).map((k) => [k, defaults[k]]));
  const certificates = root.certificates.map((c) => {
    if (typeof c === 'string') {
      const name = certificateNameFor(c);
      // Left as written when no name can be derived: compactProblems says what to do.
      return name === undefined ? c : { name, domains: [c], ...inherited };
    }
    return c !== null && typeof c === 'object' && !Array.isArray(c) ? { ...inherited, ...c } : c;
  });
  return { ...root, certificates };
}

/** Problems only the compact form can have, on the input as written. */
export function compactProblems(input: unknown): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  arr(obj(input).certificates).forEach((c, ci) => {
    const domain = str(c);
    if (domain === undefined || certificateNameFor(domain) !== undefined) return;
    problems.push({
      path: ['certificates', ci],
      message: normalizeDomain(domain).ok
        ? `"${domain}" makes a certificate name longer than 63 characters; write it as {"name": "<short name>", "domains": ["${domain}"]}`
        : `"${domain}" is not a domain name; write a domain name, or {"name": ..., "domains": [...]}`,
    });
  });
  return problems;
}

/**
 * Whether a problem at `path` of the expanded input is about a value `certificateDefaults`
 * supplied (`certificates[i].keyType` where certificate i did not set it): it is reported once,
 * at `certificateDefaults`, not once per certificate.
 */
export function fromDefaults(input: unknown, path: readonly PropertyKey[]): boolean {
  const [section, index, field] = path;
  if (section !== 'certificates' || typeof index !== 'number') return false;
  if (!(DEFAULTED as readonly PropertyKey[]).includes(field as PropertyKey)) return false;
  const written = arr(obj(input).certificates)[index];
  return typeof written === 'string' || !(String(field) in obj(written));
}
