import type { CertificateConfig } from '../../lambdas/core/config/schema';
import type { CertificateMetadata } from '../../lambdas/core/ports';
import { decideRenewal } from '../../lambdas/core/renewal/decide';

const cert: CertificateConfig = {
  name: 'example',
  domains: ['example.com', '*.example.com'],
  keyType: 'ecdsa-p256',
  stores: ['local'],
  acmRegions: [],
};

const meta = (over: Partial<CertificateMetadata> = {}): CertificateMetadata => ({
  name: 'example',
  domains: ['*.example.com', 'example.com'],
  keyType: 'ecdsa-p256',
  serial: '01',
  issuer: 'CA',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2026-04-01T00:00:00.000Z', // 90 days
  storedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

const at = (iso: string) => new Date(iso);
const base = { certificate: cert, force: false, random: () => 0.5 };

describe('renewal decision', () => {
  it('issues what was never issued, and re-issues what a store lacks', () => {
    expect(
      decideRenewal({ ...base, current: [{ store: 'local', metadata: undefined }], now: at('2026-02-01') }),
    ).toEqual({
      due: true,
      reason: 'not issued yet',
    });
    expect(
      decideRenewal({
        ...base,
        current: [
          { store: 'secretsmanager', metadata: meta() },
          { store: 'acm', metadata: undefined },
        ],
        now: at('2026-02-01'),
      }),
    ).toEqual({ due: true, reason: 'missing from acm' });
  });

  it('renews at a third of the lifetime by default, and not before', () => {
    // 90-day certificate: due 30 days before notAfter, i.e. from 2026-03-02.
    expect(
      decideRenewal({
        ...base,
        current: [{ store: 'local', metadata: meta() }],
        now: at('2026-03-01T00:00:00Z'),
      }).due,
    ).toBe(false);
    expect(
      decideRenewal({
        ...base,
        current: [{ store: 'local', metadata: meta() }],
        now: at('2026-03-03T00:00:00Z'),
      }).due,
    ).toBe(true);
  });

  it('honours renewBeforeDays, force, name and key type changes', () => {
    const current = [{ store: 'local', metadata: meta() }];
    expect(decideRenewal({ ...base, current, renewBeforeDays: 10, now: at('2026-03-10') }).due).toBe(false);
    expect(decideRenewal({ ...base, current, renewBeforeDays: 10, now: at('2026-03-23') }).due).toBe(true);
    expect(decideRenewal({ ...base, current, force: true, now: at('2026-01-02') })).toEqual({
      due: true,
      reason: 'forced',
    });
    expect(
      decideRenewal({
        ...base,
        current: [{ store: 'local', metadata: meta({ domains: ['example.com'] }) }],
        now: at('2026-01-02'),
      }).reason,
    ).toBe('names changed (local)');
    expect(
      decideRenewal({
        ...base,
        current: [{ store: 'local', metadata: meta({ keyType: 'rsa-2048' }) }],
        now: at('2026-01-02'),
      }).reason,
    ).toBe('key type changed from rsa-2048 to ecdsa-p256');
  });

  it('follows the CA renewal window (RFC 9773) over the lifetime rule', () => {
    const current = [{ store: 'local', metadata: meta() }];
    const window = { start: at('2026-01-10T00:00:00Z'), end: at('2026-01-12T00:00:00Z') };
    // random 0.5 → renew at the middle of the window
    expect(decideRenewal({ ...base, current, window, now: at('2026-01-10T12:00:00Z') }).due).toBe(false);
    expect(decideRenewal({ ...base, current, window, now: at('2026-01-11T00:00:01Z') }).due).toBe(true);
  });
});
