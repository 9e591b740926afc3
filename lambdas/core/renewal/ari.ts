import * as acme from 'acme-client';
import type { RenewalWindow } from './decide';

/**
 * ACME Renewal Information (RFC 9773). acme-client 5.4 has no ARI support, so this reads the
 * directory's `renewalInfo` URL and GETs `<renewalInfo>/<CertID>` (§4.1, §4.2) through
 * acme-client's HTTP instance (same CA trust). Returns undefined when the CA offers no ARI or
 * the answer is unusable: the caller then falls back to the lifetime threshold.
 */
export async function fetchRenewalWindow(
  directoryUrl: string,
  certId: string,
): Promise<RenewalWindow | undefined> {
  const dir = await acme.axios.get<{ renewalInfo?: string }>(directoryUrl, { timeout: 10_000 });
  const base = dir.data?.renewalInfo;
  if (!base) return undefined;
  const res = await acme.axios.get<{ suggestedWindow?: { start?: string; end?: string } }>(
    `${base.replace(/\/$/, '')}/${certId}`,
    { timeout: 10_000, validateStatus: () => true },
  );
  if (res.status !== 200) return undefined;
  return parseRenewalWindow(res.data);
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
