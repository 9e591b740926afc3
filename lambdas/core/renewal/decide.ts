import type { CertificateConfig } from '../config/schema';
import type { StoredCertificate } from '../ports';

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

/** What one store holds for the certificate. */
export interface StoreState {
  store: string;
  stored: StoredCertificate;
}

/**
 * Decide whether a certificate is due. Order of rules: forced; broken in a store (files missing,
 * unreadable or not matching, a corrupt record: the store's problem is the reason); missing from
 * a store; names or key type changed; the CA's ARI window (RFC 9773 §4.2: renew at a uniformly
 * random point inside the window, or at once if the window has passed); else a lifetime threshold
 * (`renewBeforeDays`, default a third of the lifetime, as Let's Encrypt recommends).
 */
export function decideRenewal(input: {
  certificate: CertificateConfig;
  current: StoreState[];
  now: Date;
  force: boolean;
  renewBeforeDays?: number;
  window?: RenewalWindow;
  random: () => number;
}): RenewalDecision {
  const { certificate, now } = input;
  if (input.force) return { due: true, reason: 'forced' };
  const broken = input.current.flatMap(({ store, stored }) =>
    stored.status === 'broken' ? [`${store}: ${stored.problem}`] : [],
  );
  if (broken.length > 0) return { due: true, reason: `stored certificate is broken (${broken.join('; ')})` };
  const healthy = input.current.flatMap(({ store, stored }) =>
    stored.status === 'healthy' ? [{ store, metadata: stored.metadata }] : [],
  );
  if (healthy.length === 0) return { due: true, reason: 'not issued yet' };
  const missing = input.current.filter((c) => c.stored.status === 'absent').map((c) => c.store);
  if (missing.length > 0) return { due: true, reason: `missing from ${missing.join(', ')}` };
  const wanted = [...certificate.domains].sort().join(',');
  for (const { store, metadata } of healthy) {
    if ([...metadata.domains].sort().join(',') !== wanted)
      return { due: true, reason: `names changed (${store})` };
    if (metadata.keyType !== certificate.keyType) {
      return { due: true, reason: `key type changed from ${metadata.keyType} to ${certificate.keyType}` };
    }
  }
  const soonest = healthy
    .map((c) => c.metadata)
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

/** The RFC 9773 CertID to ask the CA about: from the first healthy store that records one. */
export function ariCertIdOf(current: StoreState[]): string | undefined {
  for (const { stored } of current) {
    if (stored.status === 'healthy' && stored.metadata.ariCertId) return stored.metadata.ariCertId;
  }
  return undefined;
}
