import { ConfigFileProblem, readConfigFile } from '../../../core/config/files';
import { canonicalName } from '../../../core/dns/names';
import { ConfigError } from '../../../core/errors';
import { TSIG_ALGORITHMS } from './tsig';

/** Where the TSIG secret comes from (config `dns.tsig.secretFile` / `dns.tsig.secretEnv`). */
export interface TsigSecretSource {
  /**
   * Path to a key file in any format {@link parseTsigKeyText} reads: a bare base64 secret, BIND's
   * `tsig-keygen` key clause, Knot's `keymgr -t` output, PowerDNS's `pdnsutil generate-tsig-key` or
   * `list-tsig-keys` output.
   */
  secretFile?: string;
  /** Name of an environment variable holding the secret (same formats; normally the bare base64). */
  secretEnv?: string;
  /** The key name (`dns.tsig.name`): picks the key when the file has several, and must match a named key. */
  name?: string;
  /** The algorithm (`dns.tsig.algorithm`): must match the algorithm the file names, if it names one. */
  algorithm?: string;
}

/** The tool whose output a key file looks like. */
export type TsigKeyFileFormat =
  | 'bare base64 secret'
  | 'BIND key clause'
  | 'Knot keymgr'
  | 'PowerDNS pdnsutil'
  | 'algorithm:name:secret';

/** One key found in a key file. `name` and `algorithm` are lowercase, without a trailing dot. */
export interface TsigKeyFileEntry {
  name?: string;
  algorithm?: string;
  secret: string;
}

/** What a key file holds. */
export interface ParsedTsigKeyText {
  format: TsigKeyFileFormat;
  keys: TsigKeyFileEntry[];
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BIND_KEY_CLAUSE = /key\s+"?([^"\s{]+)"?\s*\{([^}]*)\}\s*;?/g;
const BIND_SECRET = /secret\s+"([^"]*)"\s*;/;
const BIND_ALGORITHM = /algorithm\s+"?([^";\s]+)"?\s*;/;
/** `pdnsutil generate-tsig-key NAME ALG` prints this line. */
const PDNS_CREATED = /^Create new TSIG key (\S+) (\S+) (\S+)$/;
/** `pdnsutil list-tsig-keys` prints `NAME. ALG. SECRET` per key. */
const PDNS_LISTED = /^(\S+)\s+(hmac-[a-z0-9.-]+)\s+(\S+)$/i;
/** The `-y [alg:]name:secret` argument of dig / nsupdate / kdig, also the comment `keymgr -t` prints first. */
const COLON_TRIPLE = /^#?\s*(?:(hmac-[a-z0-9.-]+):)?([^:\s]+):([A-Za-z0-9+/=]+)$/i;

/** Lowercase, without the trailing dot: how key and algorithm names compare (RFC 8945 §4.2 names). */
export const bareName = (name: string): string => canonicalName(name.trim());

/** The algorithm name as certflow spells it: BIND's long HMAC-MD5 name shortened, lowercase. */
function algorithmName(name: string): string {
  const bare = bareName(name.replace(/^"|"$/g, ''));
  return bare === 'hmac-md5.sig-alg.reg.int' ? 'hmac-md5' : bare;
}

const unquote = (value: string): string => value.trim().replace(/^(["'])(.*)\1$/, '$2');

function bindClauses(text: string): TsigKeyFileEntry[] {
  return [...text.matchAll(BIND_KEY_CLAUSE)].map((m) => {
    const body = m[2] ?? '';
    const algorithm = BIND_ALGORITHM.exec(body)?.[1];
    return {
      name: bareName(m[1] ?? ''),
      algorithm: algorithm === undefined ? undefined : algorithmName(algorithm),
      secret: BIND_SECRET.exec(body)?.[1] ?? '',
    };
  });
}

/** Knot's YAML `key:` section (`keymgr -t` output, or the same section of knot.conf). */
function knotKeys(lines: string[]): TsigKeyFileEntry[] | undefined {
  const start = lines.findIndex((l) => /^key:\s*$/.test(l));
  if (start < 0) return undefined;
  const keys: TsigKeyFileEntry[] = [];
  let current: Partial<TsigKeyFileEntry> | undefined;
  const flush = (): void => {
    if (current !== undefined) keys.push({ ...current, secret: current.secret ?? '' });
  };
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line) && !line.startsWith('#')) break; // the next top-level section
    const item = /^\s*(-\s+)?(id|algorithm|secret):\s*(.*?)\s*$/.exec(line);
    if (item === null) continue;
    const [, dash, field, raw] = item;
    const value = unquote(raw ?? '');
    if (dash !== undefined) {
      flush();
      current = {};
    }
    current ??= {};
    if (field === 'id') current.name = bareName(value);
    else if (field === 'algorithm') current.algorithm = algorithmName(value);
    else current.secret = value;
  }
  flush();
  return keys;
}

function lineFormat(lines: string[]): ParsedTsigKeyText | undefined {
  const pdns: TsigKeyFileEntry[] = [];
  const triples: TsigKeyFileEntry[] = [];
  for (const line of lines) {
    const match = PDNS_CREATED.exec(line) ?? PDNS_LISTED.exec(line);
    if (match) {
      pdns.push({
        name: bareName(match[1] ?? ''),
        algorithm: algorithmName(match[2] ?? ''),
        secret: match[3] ?? '',
      });
      continue;
    }
    const triple = COLON_TRIPLE.exec(line);
    if (triple) {
      triples.push({
        name: bareName(triple[2] ?? ''),
        algorithm: triple[1] === undefined ? undefined : algorithmName(triple[1]),
        secret: triple[3] ?? '',
      });
    }
  }
  if (pdns.length > 0) return { format: 'PowerDNS pdnsutil', keys: pdns };
  if (triples.length > 0) return { format: 'algorithm:name:secret', keys: triples };
  return undefined;
}

/**
 * Read the TSIG keys (RFC 8945 §3: name, algorithm, shared secret) from the text of a key file,
 * in the formats the servers' own tools write:
 *
 * - BIND 9 `tsig-keygen -a hmac-sha256 NAME`: `key "NAME" { algorithm hmac-sha256; secret "…"; };`
 * - Knot DNS `keymgr -t NAME hmac-sha256`: a YAML `key:` list of `id` / `algorithm` / `secret`
 *   (its first line, `# hmac-sha256:NAME:…`, is ignored when the YAML is there)
 * - PowerDNS `pdnsutil generate-tsig-key NAME hmac-sha256` (`Create new TSIG key NAME ALG SECRET`)
 *   and `pdnsutil list-tsig-keys` (`NAME. ALG. SECRET` per line)
 * - the `[alg:]name:secret` argument of `dig -y` / `nsupdate -y` / `kdig -y`
 * - a bare base64 secret (whitespace ignored)
 *
 * @returns the format and its keys, or `undefined` when the text is none of these.
 */
export function parseTsigKeyText(text: string): ParsedTsigKeyText | undefined {
  const clauses = bindClauses(text);
  if (clauses.length > 0) return { format: 'BIND key clause', keys: clauses };
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/\s+$/, ''))
    .filter((l) => l.trim() !== '');
  const knot = knotKeys(lines);
  if (knot !== undefined) return { format: 'Knot keymgr', keys: knot };
  const byLine = lineFormat(lines.map((l) => l.trim()));
  if (byLine !== undefined) return byLine;
  const compact = text.replace(/\s+/g, '');
  if (compact !== '' && BASE64.test(compact))
    return { format: 'bare base64 secret', keys: [{ secret: compact }] };
  return undefined;
}

function problem(path: string, message: string): ConfigError {
  return new ConfigError([{ path, message }], 'TSIG secret');
}

const FORMATS_HINT =
  'a bare base64 secret, a BIND key clause (tsig-keygen), Knot "keymgr -t" output, or PowerDNS "pdnsutil generate-tsig-key" / "list-tsig-keys" output';

/** Pick the configured key out of what the file holds; mismatches name the field to change. */
function chooseKey(parsed: ParsedTsigKeyText, source: TsigSecretSource, path: string, where: string): string {
  const wantedName = source.name === undefined ? undefined : bareName(source.name);
  const wantedAlgorithm = source.algorithm === undefined ? undefined : algorithmName(source.algorithm);
  const named = parsed.keys.filter((k) => k.name !== undefined);
  let candidates = parsed.keys;
  if (wantedName !== undefined && named.length > 0) {
    candidates = parsed.keys.filter((k) => k.name === undefined || k.name === wantedName);
    if (candidates.length === 0) {
      const names = [...new Set(named.map((k) => k.name))].sort().join(', ');
      throw problem(
        'dns.tsig.name',
        named.length === 1
          ? `is "${wantedName}" but the key in ${where} is named "${names}"; set dns.tsig.name to "${names}" (the name the server knows the key by), or point dns.tsig.secretFile at the key named "${wantedName}"`
          : `is "${wantedName}" but ${where} has no key of that name (it has: ${names}); set dns.tsig.name to one of them, or fix the file`,
      );
    }
  }
  if (candidates.length > 1 && wantedAlgorithm !== undefined) {
    const sameAlgorithm = candidates.filter(
      (k) => k.algorithm === undefined || k.algorithm === wantedAlgorithm,
    );
    if (sameAlgorithm.length > 0) candidates = sameAlgorithm;
  }
  if (candidates.length > 1) {
    const names = candidates.map((k) => k.name ?? '(unnamed)').join(', ');
    throw problem(
      path,
      `${where} has ${candidates.length} keys (${names}); keep one, or set dns.tsig.name to pick one`,
    );
  }
  const key = candidates[0] as TsigKeyFileEntry;
  const label = key.name === undefined ? 'the key' : `key "${key.name}"`;
  if (key.algorithm !== undefined && !(TSIG_ALGORITHMS as readonly string[]).includes(key.algorithm)) {
    throw problem(
      path,
      `${label} in ${where} uses ${key.algorithm}, which certflow does not sign with; create a key with one of ${TSIG_ALGORITHMS.join(', ')} (e.g. "tsig-keygen -a hmac-sha256 ${key.name ?? 'NAME'}") and configure it on the server`,
    );
  }
  if (key.algorithm !== undefined && wantedAlgorithm !== undefined && key.algorithm !== wantedAlgorithm) {
    throw problem(
      'dns.tsig.algorithm',
      `is ${wantedAlgorithm} but ${label} in ${where} is ${key.algorithm}; set dns.tsig.algorithm to "${key.algorithm}"`,
    );
  }
  const compact = key.secret.replace(/\s+/g, '');
  if (compact === '' || !BASE64.test(compact)) {
    throw problem(
      path,
      `${label} in ${where} has no base64 secret; generate a key with "tsig-keygen -a hmac-sha256 NAME" and use its output`,
    );
  }
  return compact;
}

function secretFrom(text: string, source: TsigSecretSource, path: string, where: string): string {
  const parsed = parseTsigKeyText(text);
  if (parsed === undefined || parsed.keys.length === 0) {
    throw problem(path, `${where} is not a TSIG key certflow can read; use ${FORMATS_HINT}`);
  }
  return chooseKey(parsed, source, path, where);
}

/**
 * Read the TSIG secret (RFC 8945 §3 shared key, base64) from a key file or an environment
 * variable, and check that what the file names (key name, algorithm) agrees with the config.
 * Error messages name the config field to change and the fix, never the secret or the file's
 * content.
 *
 * @throws ConfigError when neither source is set, the source is unreadable, empty or in no known
 *   format, or it names a key or algorithm that disagrees with `dns.tsig.name` / `dns.tsig.algorithm`.
 */
export function readTsigSecret(source: TsigSecretSource, env: NodeJS.ProcessEnv = process.env): string {
  if (source.secretFile !== undefined) {
    const path = 'dns.tsig.secretFile';
    let text: string;
    try {
      // A regular file of at most 64 KiB, opened without blocking (a FIFO or /dev/zero never hangs).
      text = readConfigFile(source.secretFile, path);
    } catch (error) {
      if (error instanceof ConfigFileProblem) throw problem(path, error.message);
      throw error;
    }
    return secretFrom(text, source, path, `"${source.secretFile}"`);
  }
  if (source.secretEnv !== undefined) {
    const path = 'dns.tsig.secretEnv';
    const value = env[source.secretEnv];
    if (value === undefined || value.trim() === '') {
      throw problem(
        path,
        `environment variable ${source.secretEnv} is not set; export the base64 TSIG secret in it`,
      );
    }
    return secretFrom(value, source, path, `environment variable ${source.secretEnv}`);
  }
  throw problem('dns.tsig', 'set secretFile or secretEnv (the TSIG secret never goes in the config file)');
}
