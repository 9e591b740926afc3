import { errorMessage } from '../errors';

/**
 * The domain names a CA recognises in CAA `issue`/`issuewild` properties (RFC 8659 §4.2), from
 * the ACME directory's `meta.caaIdentities` (RFC 8555 §7.1.1) when it answers, else from what
 * each known CA publishes.
 */

/** What each directory name in `KNOWN_DIRECTORIES` (config/schema.ts) publishes as its CAA identifier. */
export const KNOWN_CAA_IDENTITIES: Record<string, { identities: string[]; source: string }> = {
  letsencrypt: { identities: ['letsencrypt.org'], source: 'https://letsencrypt.org/docs/caa/' },
  'letsencrypt-staging': { identities: ['letsencrypt.org'], source: 'https://letsencrypt.org/docs/caa/' },
  google: { identities: ['pki.goog'], source: 'https://pki.goog/testing/dns-debugging.html' },
  'google-staging': { identities: ['pki.goog'], source: 'https://pki.goog/testing/dns-debugging.html' },
  zerossl: {
    identities: ['sectigo.com'],
    source: 'https://help.zerossl.com/hc/en-us/articles/360060119753-Invalid-CAA-Records',
  },
};

/**
 * One GET of a JSON resource with one timeout and no retries (the port; the adapter is
 * lambdas/adapters/acme/transport/get-json.ts). `body` is undefined when the answer is not JSON.
 */
export type JsonGet = (
  url: string,
  opts: { caBundleFile?: string; timeoutMs?: number },
) => Promise<{ status: number; body: unknown }>;

export type CaaIdentitySource = 'option' | 'directory' | 'built-in' | 'none';

export interface CaaIdentities {
  identities: string[];
  source: CaaIdentitySource;
  /** Where they came from, or why there are none, in one sentence. */
  note: string;
}

/**
 * The CA's CAA identifiers: `override` when given; else the directory's `meta.caaIdentities`;
 * else the published identifier of a known directory name; else none (with the reason).
 * Never throws: an unreachable directory is a note, not an error.
 */
export async function resolveCaaIdentities(input: {
  /** `acme.directory` as configured (a known name or a URL). */
  directory: string;
  directoryUrl: string;
  /** `acme.caBundleFile`: extra CA bundle for the directory's TLS. */
  caBundleFile?: string;
  override?: string[];
  timeoutMs?: number;
  /** How the directory is fetched. */
  getJson: JsonGet;
}): Promise<CaaIdentities> {
  if (input.override && input.override.length > 0) {
    const identities = input.override.map((i) => i.trim().toLowerCase()).filter(Boolean);
    return { identities, source: 'option', note: 'given with --caa-identity' };
  }
  let why: string;
  try {
    const res = await input.getJson(input.directoryUrl, {
      caBundleFile: input.caBundleFile,
      timeoutMs: input.timeoutMs ?? 5000,
    });
    const found = (res.body as { meta?: { caaIdentities?: unknown } } | undefined)?.meta?.caaIdentities;
    if (res.status === 200 && Array.isArray(found) && found.every((i) => typeof i === 'string')) {
      if (found.length > 0) {
        return {
          identities: found.map((i) => i.toLowerCase()),
          source: 'directory',
          note: `meta.caaIdentities of ${input.directoryUrl}`,
        };
      }
    }
    why =
      res.status === 200
        ? `${input.directoryUrl} lists no meta.caaIdentities`
        : `${input.directoryUrl} answered HTTP ${res.status}`;
  } catch (error) {
    why = `${input.directoryUrl} was not reachable (${errorMessage(error)})`;
  }
  const known = KNOWN_CAA_IDENTITIES[input.directory];
  if (known) {
    return {
      identities: known.identities,
      source: 'built-in',
      note: `${why}; using what ${input.directory} publishes (${known.source})`,
    };
  }
  return {
    identities: [],
    source: 'none',
    note: `${why}, and it is not a known CA; pass --caa-identity <the CA's CAA domain>`,
  };
}
