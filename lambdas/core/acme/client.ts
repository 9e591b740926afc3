import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import * as acme from 'acme-client';
import { AcmeRequestError, CertflowError } from '../errors';
import type { AcmeAccount } from '../ports';

let trustedBundle: string | undefined;

/**
 * Trust an extra CA bundle for the ACME directory's TLS (Pebble, on-premises CAs). Applies to
 * acme-client's shared HTTP instance; called once per cold start.
 */
export function trustCaBundle(file: string | undefined): void {
  if (!file || trustedBundle === file) return;
  let ca: string;
  try {
    ca = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new CertflowError(`acme.caBundleFile: cannot read ${file}; point it at a PEM bundle`, { cause });
  }
  acme.axios.defaults.httpsAgent = new Agent({ ca, keepAlive: true });
  trustedBundle = file;
}

export interface EabKey {
  kid: string;
  hmacKey: string;
}

/** An acme-client Client for an account (RFC 8555 §6.2: requests signed with the account key, `kid` = URL). */
export function acmeClient(account: AcmeAccount, eab?: EabKey): acme.Client {
  return new acme.Client({
    directoryUrl: account.directoryUrl,
    accountKey: account.keyPem,
    accountUrl: account.accountUrl,
    externalAccountBinding: eab,
    backoffAttempts: 5,
    backoffMin: 500,
    backoffMax: 5000,
  });
}

/** The CA's problem document (RFC 8555 §6.7, RFC 7807) carried by an acme-client error, if any. */
export function problemOf(error: unknown): unknown {
  const e = error as { response?: { data?: unknown } } | undefined;
  return e?.response?.data;
}

/**
 * Run one ACME call, translating failures into {@link AcmeRequestError} with the operation
 * named. acme-client's errors carry the CA's `detail` in the message.
 */
export async function acmeCall<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof CertflowError) throw cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new AcmeRequestError(`ACME ${operation} failed: ${message}`, { cause });
  }
}
