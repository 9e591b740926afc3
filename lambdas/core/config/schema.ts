import * as z from 'zod/mini';
import '../zod-messages';
import { isAtOrBelow, normalizeDomain } from '../dns/names';
import { arr, obj, str } from './loose';

/**
 * The one configuration file (`certflow.config.json`), read by the CDK app, the Lambdas, the
 * CLI and local mode. {@link parseConfig} lists every problem at once.
 *
 * Written with `zod/mini` (the same checks and messages as zod's chained API, which every
 * function would otherwise load and build at each cold start: ~90 KB and ~40 ms more).
 */

/** The private-key types certflow issues: the one list every other place derives from. */
export const KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
/** A private-key type certflow issues. */
export type KeyType = (typeof KEY_TYPES)[number];
/** Key types ACM can import: all of certflow's (ACM also takes RSA 1024 and EC P-521, which certflow does not issue). */
export const ACM_KEY_TYPES: readonly string[] = KEY_TYPES;
export const STORE_KINDS = ['local', 'secretsmanager', 'acm'] as const;

/** Well-known ACME directories (RFC 8555 §7.1.1). */
export const KNOWN_DIRECTORIES: Record<string, string> = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
  google: 'https://dv.acme-v02.api.pki.goog/directory',
  'google-staging': 'https://dv.acme-v02.test-api.pki.goog/directory',
  zerossl: 'https://acme.zerossl.com/v2/DV90',
};

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const hostPort = z
  .string()
  .check(
    z.regex(
      /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/,
      'must be "host" or "host:port", e.g. "127.0.0.1:53"',
    ),
  );

const domainString = z.string().check(
  z.superRefine((value, ctx) => {
    const n = normalizeDomain(value);
    if (!n.ok) ctx.addIssue({ code: 'custom', message: n.problem });
  }),
);

const zoneString = z.string().check(
  z.superRefine((value, ctx) => {
    const n = normalizeDomain(value, { allowWildcard: false });
    if (!n.ok) ctx.addIssue({ code: 'custom', message: n.problem });
  }),
);

const directory = z.string().check(
  z.superRefine((value, ctx) => {
    if (KNOWN_DIRECTORIES[value]) return;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" is neither a URL nor a known name (${Object.keys(KNOWN_DIRECTORIES).join(', ')})`,
      });
      return;
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      ctx.addIssue({
        code: 'custom',
        message: `must use https:// (plain http is allowed only on loopback), got "${value}"`,
      });
    }
  }),
);

const nonEmpty = (message?: string) => z.string().check(z.minLength(1, message));
/** An integer in [min, max] (zod's `z.number().int().min().max()`). */
const intIn = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max));

const tsig = z.strictObject({
  name: nonEmpty('the TSIG key name, as in the server configuration'),
  algorithm: z._default(z.enum(['hmac-sha256', 'hmac-sha384', 'hmac-sha512', 'hmac-sha1']), 'hmac-sha256'),
  /** Path to a file holding the base64 secret (or a BIND `key` clause). */
  secretFile: z.optional(nonEmpty()),
  /** Name of an environment variable holding the base64 secret. */
  secretEnv: z.optional(nonEmpty()),
});

const rfc2136 = z.strictObject({
  provider: z.literal('rfc2136'),
  /** Primary server that accepts UPDATE for the delegated zone. */
  server: hostPort,
  tsig,
});

const route53 = z.strictObject({
  provider: z.literal('route53'),
  /** Hosted zone id of the delegated zone; omit with `createHostedZone: true`. */
  hostedZoneId: z.optional(
    z.string().check(z.regex(/^Z[A-Z0-9]{1,32}$/, 'a Route 53 hosted zone id such as "Z0123456789ABC"')),
  ),
  createHostedZone: z._default(z.boolean(), false),
  /**
   * certflow's share of Route 53's 5 requests per second per account: each function paces its
   * calls so that all certificates in flight together stay within it (lambdas/core/renewal/request-pacing.ts).
   */
  requestsPerSecond: z._default(z.number().check(z.gte(0.5), z.lte(5)), 3),
});

const certificate = z.strictObject({
  name: z
    .string()
    .check(
      z.regex(
        /^[a-z0-9][a-z0-9-]{0,62}$/,
        'lowercase letters, digits and hyphens, starting with a letter or digit (it names files and secrets)',
      ),
    ),
  domains: z
    .array(domainString)
    .check(
      z.minLength(1, 'list at least one domain'),
      z.maxLength(
        100,
        "at most 100 names per certificate (RFC 8555 CAs such as Let's Encrypt limit orders to 100)",
      ),
    ),
  keyType: z._default(
    z.enum(KEY_TYPES, { error: `use one of ${KEY_TYPES.join(', ')} (ecdsa-p256 is the default)` }),
    'ecdsa-p256',
  ),
  stores: z.optional(z.array(z.enum(STORE_KINDS)).check(z.minLength(1))),
  /** Extra ACM regions to import into (e.g. us-east-1 for CloudFront). */
  acmRegions: z._default(
    z.array(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as "us-east-1"'))),
    [],
  ),
});

/**
 * Alarms and dashboard (lib/monitoring); every alarm goes to the alerts topic and each can be
 * switched off on its own.
 */
const monitoring = z.strictObject({
  /** CloudWatch namespace of certflow's metrics; two deployments in one account and region need two. */
  namespace: z._default(
    z.string().check(
      z.regex(/^[A-Za-z0-9._/#:-]{1,255}$/, 'letters, digits and . _ / # : - (and not starting with "AWS/")'),
      z.refine((v) => !v.startsWith('AWS/'), 'namespaces starting with "AWS/" are reserved for AWS'),
    ),
    'certflow',
  ),
  daysToExpiry: z._default(
    z.strictObject({
      /** Alarm when a certificate's days to expiry fall below its threshold, or stop being reported. */
      enabled: z._default(z.boolean(), true),
      /** Alert threshold in days; default: a third of the certificate's lifetime or 10 days, whichever is smaller. */
      thresholdDays: z.optional(z.number().check(z.gte(1), z.lte(365))),
      /**
       * Certificates (first in this file) that get an alarm of their own; the others share the
       * aggregate alarm. Each alarm is one CloudFormation resource (a stack holds at most 500).
       */
      perCertificateAlarms: z._default(intIn(0, 100), 25),
    }),
    { enabled: true, perCertificateAlarms: 25 },
  ),
  acmDaysToExpiry: z._default(
    z.strictObject({
      /**
       * FinalizeAndStore puts an alarm on ACM's own DaysToExpiry metric for each certificate it
       * imports into ACM in the stack's region: it fires even if the pipeline never runs again.
       */
      enabled: z._default(z.boolean(), true),
    }),
    { enabled: true },
  ),
  noSuccessfulRun: z._default(
    z.strictObject({
      enabled: z._default(z.boolean(), true),
      /** Hours without a successful run before the alarm; default: the schedule's longest gap plus its flexible window. */
      afterHours: z.optional(intIn(1, 168)),
    }),
    { enabled: true },
  ),
  /** Alarm on executions that end FAILED, TIMED_OUT or ABORTED (Step Functions' own metrics). */
  executionsFailed: z._default(z.strictObject({ enabled: z._default(z.boolean(), true) }), { enabled: true }),
  dashboard: z._default(
    z.strictObject({
      enabled: z._default(z.boolean(), true),
      /** How many certificates (those closest to expiry) the days-to-expiry widget shows. */
      certificates: z._default(intIn(1, 100), 20),
    }),
    { enabled: true, certificates: 20 },
  ),
});

/** The monitoring section when the file has none. */
export const MONITORING_DEFAULTS = {
  namespace: 'certflow',
  daysToExpiry: { enabled: true, perCertificateAlarms: 25 },
  acmDaysToExpiry: { enabled: true },
  noSuccessfulRun: { enabled: true },
  executionsFailed: { enabled: true },
  dashboard: { enabled: true, certificates: 20 },
};

/**
 * Defaults for every certificate that does not set its own (`certificateDefaults`): with them,
 * a thousand single-name certificates are a list of names.
 */
const certificateDefaults = z.strictObject({
  keyType: z.optional(
    z.enum(KEY_TYPES, { error: `use one of ${KEY_TYPES.join(', ')} (ecdsa-p256 is the default)` }),
  ),
  stores: z.optional(z.array(z.enum(STORE_KINDS)).check(z.minLength(1))),
  acmRegions: z.optional(
    z.array(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as "us-east-1"'))),
  ),
});

const schemaBase = z.strictObject({
  $schema: z.optional(z.string()),
  acme: z.strictObject({
    directory,
    email: z.email('must be an email address the CA can write to'),
    termsOfServiceAgreed: z.literal(true, "must be true: you agree to the CA's terms of service"),
    /** PEM bundle to trust for the directory's TLS (local and on-premises CAs). */
    caBundleFile: z.optional(nonEmpty()),
    /**
     * PEM bundle of the root certificates the CA's chains must lead to: a certificate whose chain
     * reaches none of them is not stored, and a stored one is re-issued. Default: the Mozilla
     * root store for Let's Encrypt, Google and ZeroSSL; no check for other CAs.
     */
    trustAnchorsFile: z.optional(nonEmpty()),
    /**
     * The total time one request to the CA may take, from sending it to the last byte of the
     * answer (never more than the function has left); a CA that accepts and never answers is
     * abandoned after it. Omitted: 10 s.
     */
    requestTimeoutSeconds: z.optional(intIn(1, 120)),
    /**
     * The test CA a dry run issues from (`--dry-run`); default: the staging directory of
     * Let's Encrypt or Google, or the directory itself when it is a staging or loopback CA.
     */
    dryRunDirectory: z.optional(directory),
    externalAccountBinding: z.optional(
      z.strictObject({
        kid: nonEmpty(),
        /** Environment variable holding the base64url HMAC key (never the key itself). */
        hmacKeyEnv: z.optional(nonEmpty()),
        /** Secrets Manager secret holding the HMAC key (AWS). */
        hmacKeySecretArn: z.optional(nonEmpty()),
      }),
    ),
  }),
  delegation: z.strictObject({
    /** The delegated validation zone certflow writes TXT records in. */
    zone: zoneString,
    /** Primary-zone domains whose `_acme-challenge` CNAMEs point into `zone`. */
    domains: z
      .array(zoneString)
      .check(z.minLength(1, 'list the domains whose _acme-challenge CNAMEs point into the zone')),
    /** Authoritative servers to check propagation on; default: the zone's NS records. */
    nameservers: z.optional(z.array(hostPort)),
    /** Recursive resolver used to follow CNAMEs; default: the system resolver. */
    resolver: z.optional(hostPort),
  }),
  dns: z.discriminatedUnion('provider', [rfc2136, route53]),
  renewal: z._default(
    z.strictObject({
      /** Renew when fewer than this many days remain; default: a third of the lifetime. */
      renewBeforeDays: z.optional(intIn(1, 365)),
      /** Use the CA's ACME Renewal Information (RFC 9773) where offered. */
      useAri: z._default(z.boolean(), true),
      maxConcurrency: z._default(intIn(1, 40), 4),
      /**
       * The CA's new-order rate limit, kept on our side: `{ orders, windowMinutes }`, or `false`
       * for none. Default: the CA's published limit for known directories (Let's Encrypt 300 per
       * 3 h, its staging 1,500 per 3 h), else none.
       */
      newOrderLimit: z.optional(
        z.union([
          z.literal(false),
          z.strictObject({ orders: intIn(1, 100_000), windowMinutes: intIn(1, 7 * 24 * 60) }),
        ]),
      ),
      /** Batches (child executions) issued at once; each issues `maxConcurrency` certificates at once. */
      batchConcurrency: z._default(intIn(1, 10), 1),
    }),
    { useAri: true, maxConcurrency: 4, batchConcurrency: 1 },
  ),
  timing: z._default(
    z.strictObject({
      propagationIntervalSeconds: z._default(intIn(1, 300), 10),
      propagationMaxChecks: z._default(intIn(1, 200), 60),
      orderIntervalSeconds: z._default(intIn(1, 300), 5),
      orderMaxChecks: z._default(intIn(1, 200), 60),
    }),
    {
      propagationIntervalSeconds: 10,
      propagationMaxChecks: 60,
      orderIntervalSeconds: 5,
      orderMaxChecks: 60,
    },
  ),
  storage: z._default(
    z.strictObject({
      /** Directory of the local store (certbot's `live/<name>/` layout). */
      localDirectory: z.optional(nonEmpty()),
      /** Default stores for certificates that do not list their own. */
      defaultStores: z._default(z.array(z.enum(STORE_KINDS)).check(z.minLength(1)), ['secretsmanager']),
    }),
    { defaultStores: ['secretsmanager'] },
  ),
  alerts: z._default(z.strictObject({ emails: z._default(z.array(z.email()), []) }), { emails: [] }),
  schedule: z._default(
    z.strictObject({
      /** EventBridge Scheduler expression. */
      expression: z._default(nonEmpty(), 'cron(17 3,15 * * ? *)'),
      flexibleWindowMinutes: z._default(intIn(1, 1440), 60),
      /**
       * Off until you turn it on: deploy, subscribe to the alerts, `certflow check`, a first manual
       * run, then `enabled: true` (docs/deploy.md). A schedule live from the first deploy would run,
       * and fail, before the primary zone's CNAMEs exist.
       */
      enabled: z._default(z.boolean(), false),
    }),
    { expression: 'cron(17 3,15 * * ? *)', flexibleWindowMinutes: 60, enabled: false },
  ),
  monitoring: z._default(monitoring, MONITORING_DEFAULTS),
  /** Defaults for the certificates below (see {@link expandCertificates}). */
  certificateDefaults: z.optional(certificateDefaults),
  /**
   * The certificates: each `{ name, domains, ... }`, or just a domain name (a certificate for
   * that one name, named after it; lambdas/core/config/compact.ts).
   */
  certificates: z.array(certificate).check(z.minLength(1, 'list at least one certificate')),
});

type RawConfig = z.infer<typeof schemaBase>;
const configSchema = schemaBase;

/** The longest domain name in text form, without the final dot (255 octets on the wire; RFC 1035 §2.3.4). */
export const MAX_NAME_LENGTH = 253;

/**
 * The names DNS-01 makes of a certificate name must fit DNS's limit too: the challenge name
 * `_acme-challenge.<name>` (RFC 8555 §8.4) and its CNAME target in the delegated zone,
 * `<name>.<zone>` (where certflow writes the TXT values). A name that passes on its own but not
 * in these fails at the CA (FORMERR, malformed) at every attempt.
 */
function dnsLengthProblems(raw: string, base: string, zone: string | undefined): string[] {
  const problems: string[] = [];
  const challenge = `_acme-challenge.${base}`;
  if (challenge.length > MAX_NAME_LENGTH) {
    problems.push(
      `"${raw}" is too long for DNS-01: its challenge name _acme-challenge.<name> is ${challenge.length} characters, more than ${MAX_NAME_LENGTH}; use a name of at most ${MAX_NAME_LENGTH - '_acme-challenge.'.length} characters`,
    );
  }
  if (zone !== undefined) {
    const target = `${base}.${zone}`;
    if (target.length > MAX_NAME_LENGTH && base !== zone && !base.endsWith(`.${zone}`)) {
      problems.push(
        `"${raw}" is too long for delegation.zone "${zone}": its validation name <name>.${zone} is ${target.length} characters, more than ${MAX_NAME_LENGTH}; use a name of at most ${MAX_NAME_LENGTH - zone.length - 1} characters, or a shorter delegation.zone`,
      );
    }
  }
  return problems;
}

/**
 * Cross-field rules, run on the raw input even when field validation failed, so one pass
 * reports every problem. Field-level problems (bad syntax) are left to the schema.
 */
export function crossFieldProblems(input: unknown): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const root = obj(input);
  const delegation = obj(root.delegation);
  const zoneRaw = str(delegation.zone);
  const zone = zoneRaw ? normalizeDomain(zoneRaw, { allowWildcard: false }) : undefined;
  const delegated = arr(delegation.domains)
    .map((d) => (typeof d === 'string' ? normalizeDomain(d, { allowWildcard: false }) : undefined))
    .flatMap((n) => (n?.ok ? [n.name] : []));
  const storage = obj(root.storage);
  const defaultStores = Array.isArray(storage.defaultStores) ? storage.defaultStores : ['secretsmanager'];
  const seenNames = new Set<string>();
  arr(root.certificates).forEach((c, ci) => {
    const cert = obj(c);
    const name = str(cert.name);
    if (name !== undefined && seenNames.has(name)) {
      problems.push({
        path: ['certificates', ci, 'name'],
        message: `"${name}" is used by two certificates; names must be unique`,
      });
    }
    if (name !== undefined) seenNames.add(name);
    const seenDomains = new Map<string, number>();
    arr(cert.domains).forEach((raw, di) => {
      if (typeof raw !== 'string') return;
      const n = normalizeDomain(raw);
      if (!n.ok) return;
      const prior = seenDomains.get(n.name);
      if (prior !== undefined) {
        problems.push({
          path: ['certificates', ci, 'domains', di],
          message: `"${raw}" duplicates domains[${prior}]; list each name once`,
        });
      }
      seenDomains.set(n.name, di);
      const base = n.name.replace(/^\*\./, '');
      for (const message of dnsLengthProblems(raw, base, zone?.ok ? zone.name : undefined)) {
        problems.push({ path: ['certificates', ci, 'domains', di], message });
      }
      if (zone?.ok && isAtOrBelow(base, zone.name)) return;
      if (delegated.length > 0 && !delegated.some((d) => isAtOrBelow(base, d))) {
        problems.push({
          path: ['certificates', ci, 'domains', di],
          message: `"${raw}" is not under any delegation.domains entry (${delegated.join(', ')}); add its domain there and its _acme-challenge CNAME to the primary zone`,
        });
      }
    });
    const stores = Array.isArray(cert.stores) ? cert.stores : defaultStores;
    const keyType = str(cert.keyType) ?? 'ecdsa-p256';
    if (
      stores.includes('acm') &&
      (KEY_TYPES as readonly string[]).includes(keyType) &&
      !ACM_KEY_TYPES.includes(keyType)
    ) {
      problems.push({
        path: ['certificates', ci, 'keyType'],
        message: `ACM cannot import ${keyType}; use one of ${ACM_KEY_TYPES.join(', ')}`,
      });
    }
    if (stores.includes('local') && !str(storage.localDirectory)) {
      problems.push({
        path: ['storage', 'localDirectory'],
        message: `certificate "${name ?? ci}" uses the local store; set storage.localDirectory`,
      });
    }
    if (arr(cert.acmRegions).length > 0 && !stores.includes('acm')) {
      problems.push({
        path: ['certificates', ci, 'acmRegions'],
        message: 'acmRegions needs "acm" in stores',
      });
    }
  });
  const dns = obj(root.dns);
  const tsig = obj(dns.tsig);
  if (dns.provider === 'rfc2136' && !str(tsig.secretFile) && !str(tsig.secretEnv)) {
    problems.push({
      path: ['dns', 'tsig'],
      message: 'set secretFile or secretEnv (the TSIG secret never goes in this file)',
    });
  }
  if (dns.provider === 'route53' && !str(dns.hostedZoneId) && dns.createHostedZone !== true) {
    problems.push({
      path: ['dns', 'hostedZoneId'],
      message: "set the delegated zone's hostedZoneId, or createHostedZone: true",
    });
  }
  const eab = root.acme === undefined ? undefined : obj(root.acme).externalAccountBinding;
  if (eab !== undefined) {
    const e = obj(eab);
    if (!str(e.hmacKeyEnv) && !str(e.hmacKeySecretArn)) {
      problems.push({
        path: ['acme', 'externalAccountBinding'],
        message: 'set hmacKeyEnv or hmacKeySecretArn (the HMAC key never goes in this file)',
      });
    }
  }
  return problems;
}

export type CertflowConfigInput = z.input<typeof configSchema>;

/** A certificate with names normalised and stores resolved. */
export interface CertificateConfig {
  name: string;
  domains: string[];
  keyType: (typeof KEY_TYPES)[number];
  stores: (typeof STORE_KINDS)[number][];
  acmRegions: string[];
}

/** The validated, normalised configuration. */
export type CertflowConfig = Omit<RawConfig, 'certificates' | 'acme'> & {
  acme: RawConfig['acme'] & { directoryUrl: string };
  certificates: CertificateConfig[];
};

export type { RawConfig };
export { configSchema };

/** Normalise a validated raw config (names to A-labels, directory names to URLs). */
export function normalizeConfig(raw: RawConfig): CertflowConfig {
  const norm = (d: string, wildcard = true): string => {
    const n = normalizeDomain(d, { allowWildcard: wildcard });
    if (!n.ok) throw new Error(`unreachable: ${d} passed validation`);
    return n.name;
  };
  return {
    ...raw,
    acme: { ...raw.acme, directoryUrl: KNOWN_DIRECTORIES[raw.acme.directory] ?? raw.acme.directory },
    delegation: {
      ...raw.delegation,
      zone: norm(raw.delegation.zone, false),
      domains: raw.delegation.domains.map((d) => norm(d, false)),
    },
    certificates: raw.certificates.map((c) => ({
      name: c.name,
      domains: c.domains.map((d) => norm(d)),
      keyType: c.keyType,
      stores: c.stores ?? raw.storage.defaultStores,
      acmRegions: c.acmRegions,
    })),
  };
}
