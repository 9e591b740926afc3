import { getJson } from '../lambdas/adapters/acme/transport/get-json';
import { type CaaIdentities, resolveCaaIdentities } from '../lambdas/core/acme/caa-identities';
import type { CertflowConfig } from '../lambdas/core/config/schema';

/**
 * The configured CA's CAA identifiers (RFC 8659 §4.2) for `check` and `plan`: `override` (the
 * `--caa-identity` option) when given, else the directory's `meta.caaIdentities` fetched once
 * over HTTPS with the configured CA bundle, else what a known CA publishes.
 */
export function configuredCaaIdentities(config: CertflowConfig, override?: string[]): Promise<CaaIdentities> {
  return resolveCaaIdentities({
    directory: config.acme.directory,
    directoryUrl: config.acme.directoryUrl,
    caBundleFile: config.acme.caBundleFile,
    override,
    getJson,
  });
}
