/**
 * Dry runs (`certflow local --dry-run`, `certflow run --dry-run`): the whole pipeline against a
 * CA whose certificates are not trusted (the CA's staging directory, or a test CA), storing
 * nothing. Orders, TXT records, validation and finalization all happen; the certificate is
 * checked and thrown away, the stores and the previous certificate are left as they were.
 */
import { isLoopbackHost, KNOWN_DIRECTORIES } from '../config/schema';
import { InvalidInputError } from '../errors';

/** Each known production directory's staging counterpart. */
const STAGING_OF: Record<string, string> = {
  [KNOWN_DIRECTORIES.letsencrypt as string]: KNOWN_DIRECTORIES['letsencrypt-staging'] as string,
  [KNOWN_DIRECTORIES.google as string]: KNOWN_DIRECTORIES['google-staging'] as string,
};

/** Directories that issue untrusted certificates already. */
const TEST_DIRECTORIES = new Set([
  KNOWN_DIRECTORIES['letsencrypt-staging'],
  KNOWN_DIRECTORIES['google-staging'],
]);

/**
 * The directory a dry run issues from: `acme.dryRunDirectory` when set; the staging directory of
 * Let's Encrypt or Google; the configured directory itself when it is a staging directory or a
 * CA on loopback (Pebble, a local test CA).
 * @throws InvalidInputError naming `acme.dryRunDirectory` when no test CA is known.
 */
export function dryRunDirectoryUrl(acme: { directoryUrl: string; dryRunDirectory?: string }): string {
  if (acme.dryRunDirectory) return KNOWN_DIRECTORIES[acme.dryRunDirectory] ?? acme.dryRunDirectory;
  const staging = STAGING_OF[acme.directoryUrl];
  if (staging) return staging;
  if (TEST_DIRECTORIES.has(acme.directoryUrl)) return acme.directoryUrl;
  const host = new URL(acme.directoryUrl).hostname;
  if (isLoopbackHost(host)) return acme.directoryUrl;
  throw new InvalidInputError(
    `a dry run issues from a test CA, and ${acme.directoryUrl} has no staging directory certflow knows; set acme.dryRunDirectory to its test directory (or drop --dry-run)`,
  );
}
