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

/** The `suggestedWindow` of a RenewalInfo object (RFC 9773 §4.2), or undefined when it is unusable. */
export function parseRenewalWindow(body: unknown): RenewalWindow | undefined {
  const window = (body as { suggestedWindow?: { start?: unknown; end?: unknown } } | undefined)
    ?.suggestedWindow;
  const start = Date.parse(typeof window?.start === 'string' ? window.start : '');
  const end = Date.parse(typeof window?.end === 'string' ? window.end : '');
  if (Number.isNaN(start) || Number.isNaN(end) || end < start) return undefined;
  return { start: new Date(start), end: new Date(end) };
}
