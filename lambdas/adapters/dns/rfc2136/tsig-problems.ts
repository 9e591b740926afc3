import type { CertflowConfig } from '../../../core/config/schema';
import { canonicalName } from '../../../core/dns/names';
import { ConfigError, type ConfigProblem } from '../../../core/errors';
import { TSIG_ALGORITHMS } from './tsig';
import { readTsigSecret } from './tsig-secret';

/** A key-name label: letters, digits, hyphens, underscores, 1-63 octets (RFC 1035 §2.3.4). */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * Why `name` is not a usable TSIG key name, or `undefined` when it is. A key name is a domain
 * name on the wire (RFC 8945 §4.2 NAME), so: dot-separated labels of at most 63 octets, at most
 * 253 characters in all; BIND, Knot and PowerDNS all accept letters, digits, `-` and `_`.
 */
export function tsigKeyNameProblem(name: string): string | undefined {
  const bare = canonicalName(name.trim());
  if (bare === '') return 'is empty; use the key name the server knows, e.g. "certflow-acme"';
  if (bare.length > 253) return `"${name}" is longer than 253 characters`;
  const bad = bare.split('.').find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return `"${name}" is not a key name: "${bad}" is not a label of letters, digits, "-" or "_" (1-63 characters, not starting or ending with "-"); use the name exactly as the server's key configuration spells it`;
  }
  return undefined;
}

/**
 * The RFC 2136 TSIG settings checked without side effects, for `certflow validate`: the key name
 * and algorithm are well-formed, and the secret's source (`dns.tsig.secretFile` or
 * `dns.tsig.secretEnv`) exists, parses in one of the formats BIND, Knot and PowerDNS tools write,
 * and names the configured key and algorithm. Nothing is sent to the DNS server. Relative paths
 * are taken from the current directory, as at run time.
 *
 * @returns every problem found (empty for the route53 provider).
 */
export function tsigProblems(config: CertflowConfig, env: NodeJS.ProcessEnv = process.env): ConfigProblem[] {
  if (config.dns.provider !== 'rfc2136') return [];
  const { tsig } = config.dns;
  const problems: ConfigProblem[] = [];
  const nameProblem = tsigKeyNameProblem(tsig.name);
  if (nameProblem !== undefined) problems.push({ path: 'dns.tsig.name', message: nameProblem });
  if (!(TSIG_ALGORITHMS as readonly string[]).includes(tsig.algorithm)) {
    problems.push({
      path: 'dns.tsig.algorithm',
      message: `"${tsig.algorithm}" is not one of ${TSIG_ALGORITHMS.join(', ')}`,
    });
  }
  try {
    readTsigSecret(tsig, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  return problems;
}
