import type { CertificateConfig } from '../config/schema';
import type { CertificateMetadata } from '../ports';

/** An RFC 9773 §4.2 suggested renewal window. */
export interface RenewalWindow {
  start: Date;
  end: Date;
}

export interface RenewalDecision {
  due: boolean;
  reason: string;
}

const DAY = 86_400_000;

/**
 * Decide whether a certificate is due. Order of rules: forced; missing from a store; names or
 * key type changed; the CA's ARI window (RFC 9773 §4.2: renew at a uniformly random point
 * inside the window, or at once if the window has passed); else a lifetime threshold
 * (`renewBeforeDays`, default a third of the lifetime, as Let's Encrypt recommends).
 */
export function decideRenewal(input: {
  certificate: CertificateConfig;
  current: { store: string; metadata: CertificateMetadata | undefined }[];
  now: Date;
  force: boolean;
  renewBeforeDays?: number;
  window?: RenewalWindow;
  random: () => number;
}): RenewalDecision {
  const { certificate, now } = input;
  if (input.force) return { due: true, reason: 'forced' };
  const missing = input.current.filter((c) => !c.metadata).map((c) => c.store);
  if (missing.length === input.current.length) return { due: true, reason: 'not issued yet' };
  if (missing.length > 0) return { due: true, reason: `missing from ${missing.join(', ')}` };
  const wanted = [...certificate.domains].sort().join(',');
  for (const { store, metadata } of input.current) {
    if (!metadata) continue;
    if ([...metadata.domains].sort().join(',') !== wanted)
      return { due: true, reason: `names changed (${store})` };
    if (metadata.keyType !== certificate.keyType) {
      return { due: true, reason: `key type changed from ${metadata.keyType} to ${certificate.keyType}` };
    }
  }
  const soonest = input.current
    .map((c) => c.metadata as CertificateMetadata)
    .reduce((a, b) => (Date.parse(a.notAfter) <= Date.parse(b.notAfter) ? a : b));
  const notAfter = new Date(soonest.notAfter);
  if (now >= notAfter) return { due: true, reason: `expired ${soonest.notAfter}` };
  if (input.window) {
    const { start, end } = input.window;
    const at = new Date(start.getTime() + input.random() * Math.max(0, end.getTime() - start.getTime()));
    if (now >= at)
      return {
        due: true,
        reason: `in the CA's renewal window (${start.toISOString()} to ${end.toISOString()})`,
      };
    return { due: false, reason: `CA's renewal window opens ${start.toISOString()}` };
  }
  const lifetime = notAfter.getTime() - Date.parse(soonest.notBefore);
  const before = input.renewBeforeDays !== undefined ? input.renewBeforeDays * DAY : lifetime / 3;
  const renewAt = new Date(notAfter.getTime() - before);
  if (now >= renewAt)
    return { due: true, reason: `expires ${soonest.notAfter}, renewal was due ${renewAt.toISOString()}` };
  return { due: false, reason: `valid until ${soonest.notAfter}; due ${renewAt.toISOString()}` };
}
