import { anonymousAcmeClient } from '../acme/client';
import type { RenewalWindow } from './decide';

/**
 * ACME Renewal Information (RFC 9773): the suggested renewal window for a certificate, by its
 * CertID (§4.1), from the CA named by `directoryUrl` (`renewalInfo` in the directory, §4.2),
 * through certflow's ACME transport (same CA trust and timeouts). Undefined when the CA offers
 * no ARI or the answer is unusable: the caller then falls back to the lifetime threshold.
 */
export async function fetchRenewalWindow(
  directoryUrl: string,
  certId: string,
): Promise<RenewalWindow | undefined> {
  const info = await anonymousAcmeClient(directoryUrl).renewalInfo(certId);
  return info?.suggestedWindow;
}
