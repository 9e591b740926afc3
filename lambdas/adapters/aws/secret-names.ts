/**
 * Names of the secrets certflow creates at run time, under one name prefix the stack grants
 * (`<prefix>/acme-account/...`, `<prefix>/pending-key/...`, `<prefix>/certificate/...`), and the
 * options they share.
 */
import { createHash } from 'node:crypto';

/** Secrets Manager secret names: 1-512 of `A-Z a-z 0-9 / _ + = . @ -`. */
const NAME_CHARACTERS = /^[A-Za-z0-9/_+=.@-]+$/;

/** Options shared by the adapters that create secrets at run time. */
export interface RuntimeSecretOptions {
  /** Prefix of every secret name, e.g. `certflow` (no trailing `/`). */
  namePrefix: string;
  /** KMS key (id, alias or ARN) to encrypt new secrets with; default the account's `aws/secretsmanager` key. */
  kmsKeyId?: string;
  /** Tags for new secrets (CreateSecret also needs `secretsmanager:TagResource` when given). */
  tags?: { Key: string; Value: string }[];
}

/** Check a name prefix; returns the reason it is unusable, or undefined. */
export function namePrefixProblem(prefix: unknown): string | undefined {
  if (typeof prefix !== 'string' || prefix === '') return 'it is empty';
  if (prefix.endsWith('/') || prefix.startsWith('/')) return 'it must not start or end with "/"';
  if (!NAME_CHARACTERS.test(prefix)) return 'it may only hold letters, digits and / _ + = . @ -';
  if (prefix.length > 400) return 'it is longer than 400 characters';
  return undefined;
}

/** `<prefix>/acme-account/<first 16 hex of sha256(directoryUrl)>`: one secret per ACME directory. */
export function accountSecretName(prefix: string, directoryUrl: string): string {
  return `${prefix}/acme-account/${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}`;
}

/** `<prefix>/pending-key/<certificate>`: the key of the order being finalized for a certificate. */
export function pendingKeySecretName(prefix: string, certificate: string): string {
  return `${prefix}/pending-key/${certificate}`;
}

/** `<prefix>/certificate/<certificate>`: one certificate's secret (certificate, chain, key, metadata). */
export function certificateSecretName(prefix: string, certificate: string): string {
  return `${prefix}/certificate/${certificate}`;
}

/** Whether a certificate name can be part of a secret name. */
export function isSecretNameSegment(value: string): boolean {
  return value.length > 0 && value.length <= 100 && NAME_CHARACTERS.test(value) && !value.includes('/');
}
