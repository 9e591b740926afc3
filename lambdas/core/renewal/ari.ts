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
  const start = Date.parse(res.data?.suggestedWindow?.start ?? '');
  const end = Date.parse(res.data?.suggestedWindow?.end ?? '');
  if (Number.isNaN(start) || Number.isNaN(end) || end < start) return undefined;
  return { start: new Date(start), end: new Date(end) };
}
