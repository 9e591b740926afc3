import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

import type { JsonGet } from '../../../core/acme/caa-identities';

/** What {@link getJson} returns: the status, and the body when it is JSON. */
export type JsonGetResult = Awaited<ReturnType<JsonGet>>;

/**
 * One GET of an ACME resource that returns JSON (the directory, RFC 8555 §7.1.1; renewal
 * information, RFC 9773 §4.2), with one timeout and no retries, for the operator CLI: it reports
 * an unreachable CA at once instead of backing off the way the step's ACME transport does.
 */
export async function getJson(
  url: string,
  opts: { caBundleFile?: string; timeoutMs?: number } = {},
): Promise<JsonGetResult> {
  const target = new URL(url);
  const ca = opts.caBundleFile ? readFileSync(opts.caBundleFile, 'utf8') : undefined;
  const get = target.protocol === 'http:' ? http.get : https.get;
  return new Promise((resolve, reject) => {
    const req = get(target, { timeout: opts.timeoutMs ?? 5000, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
  });
}
