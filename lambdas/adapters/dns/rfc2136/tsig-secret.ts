import { readFileSync } from 'node:fs';
import { ConfigError } from '../../../core/errors';

/** Where the TSIG secret comes from (config `dns.tsig.secretFile` / `dns.tsig.secretEnv`). */
export interface TsigSecretSource {
  /** Path to a file holding the bare base64 secret, or a BIND `key "name" { ... secret "..."; };` clause. */
  secretFile?: string;
  /** Name of an environment variable holding the bare base64 secret. */
  secretEnv?: string;
  /** The key name (`dns.tsig.name`): when the file holds key clauses, the clause to use. */
  name?: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const KEY_CLAUSE = /key\s+"?([^"\s{]+)"?\s*\{([^}]*)\}\s*;?/g;
const SECRET_STATEMENT = /secret\s+"([^"]*)"\s*;/;

function problem(path: string, message: string): ConfigError {
  return new ConfigError([{ path, message }], 'TSIG secret');
}

/** The secret of the single (or the named) BIND key clause, if the text has key clauses. */
function secretFromKeyClause(text: string, path: string, keyName?: string): string | undefined {
  const clauses = [...text.matchAll(KEY_CLAUSE)].map((m) => ({
    name: (m[1] ?? '').replace(/\.$/, '').toLowerCase(),
    body: m[2] ?? '',
  }));
  if (clauses.length === 0) return undefined;
  const wanted = keyName?.replace(/\.$/, '').toLowerCase();
  const chosen = wanted === undefined ? clauses : clauses.filter((c) => c.name === wanted);
  if (chosen.length !== 1) {
    const names = clauses.map((c) => c.name).join(', ');
    throw problem(
      path,
      wanted === undefined
        ? `the file has ${clauses.length} key clauses (${names}); keep one, or set dns.tsig.name to pick one`
        : `the file has no key clause named "${wanted}" (found: ${names}); fix dns.tsig.name or the file`,
    );
  }
  const secret = SECRET_STATEMENT.exec(chosen[0]?.body ?? '')?.[1];
  if (secret === undefined) {
    throw problem(path, `the key clause "${chosen[0]?.name}" has no secret "..."; statement`);
  }
  return secret;
}

function checkBase64(secret: string, path: string): string {
  const compact = secret.replace(/\s+/g, '');
  if (compact === '' || !BASE64.test(compact)) {
    throw problem(
      path,
      'is not a base64 TSIG secret; generate one with "tsig-keygen -a hmac-sha256 <name>" and use its secret',
    );
  }
  return compact;
}

/**
 * Read the TSIG secret (RFC 8945 §3 shared key, base64) from a file or an environment variable.
 * Error messages name the config field and the fix, never the secret or the file's content.
 *
 * @throws ConfigError when neither source is set, the source is unreadable or empty, or the
 *   value is not base64.
 */
export function readTsigSecret(source: TsigSecretSource, env: NodeJS.ProcessEnv = process.env): string {
  if (source.secretFile !== undefined) {
    const path = 'dns.tsig.secretFile';
    let text: string;
    try {
      text = readFileSync(source.secretFile, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'read error';
      throw problem(path, `cannot read "${source.secretFile}" (${code}); create it or fix the path`);
    }
    const fromClause = secretFromKeyClause(text, path, source.name);
    return checkBase64(fromClause ?? text.trim(), path);
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
    return checkBase64(value.trim(), path);
  }
  throw problem('dns.tsig', 'set secretFile or secretEnv (the TSIG secret never goes in the config file)');
}
