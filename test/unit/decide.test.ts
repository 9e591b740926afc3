import type { CertificateConfig } from '../../lambdas/core/config/schema';
import type { CertificateMetadata, StoredCertificate } from '../../lambdas/core/ports';
import { ariCertIdOf, decideRenewal, type StoreState } from '../../lambdas/core/renewal/decide';

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

const healthy = (over: Partial<CertificateMetadata> = {}): StoredCertificate => ({
  status: 'healthy',
  metadata: meta(over),
});
const absent: StoredCertificate = { status: 'absent' };
const at = (iso: string) => new Date(iso);
const base = { certificate: cert, force: false, random: () => 0.5 };
const local = (stored: StoredCertificate): StoreState[] => [{ store: 'local', stored }];

describe('renewal decision', () => {
  it('issues what was never issued, and re-issues what a store lacks', () => {
    expect(decideRenewal({ ...base, current: local(absent), now: at('2026-02-01') })).toEqual({
      due: true,
      reason: 'not issued yet',
    });
    expect(
      decideRenewal({
        ...base,
        current: [
          { store: 'secretsmanager', stored: healthy() },
          { store: 'acm', stored: absent },
        ],
        now: at('2026-02-01'),
      }),
    ).toEqual({ due: true, reason: 'missing from acm' });
  });

  it('renews a broken certificate at once, with each store problem as the reason, whatever its dates', () => {
    // Mid-life: a healthy copy would not be due until 2026-03-02.
    const now = at('2026-01-15');
    expect(
      decideRenewal({
        ...base,
        current: local({
          status: 'broken',
          problem: '/etc/certs/live/example: cannot read cert.pem: ENOENT',
          metadata: meta(),
        }),
        now,
      }),
    ).toEqual({
      due: true,
      reason: 'stored certificate is broken (local: /etc/certs/live/example: cannot read cert.pem: ENOENT)',
    });
    expect(
      decideRenewal({
        ...base,
        current: [
          { store: 'secretsmanager', stored: { status: 'broken', problem: 'tags describe version v1' } },
          { store: 'acm', stored: { status: 'broken', problem: 'ACM reports it as REVOKED' } },
        ],
        now,
      }).reason,
    ).toBe(
      'stored certificate is broken (secretsmanager: tags describe version v1; acm: ACM reports it as REVOKED)',
    );
    // broken outranks absent elsewhere: the reason a user needs is the broken store
    expect(
      decideRenewal({
        ...base,
        current: [
          { store: 'local', stored: { status: 'broken', problem: 'metadata.json is not valid JSON' } },
          { store: 'acm', stored: absent },
        ],
        now,
      }).reason,
    ).toBe('stored certificate is broken (local: metadata.json is not valid JSON)');
  });

  it('forced wins over a broken record', () => {
    expect(
      decideRenewal({
        ...base,
        force: true,
        current: local({ status: 'broken', problem: 'metadata.json is not valid JSON' }),
        now: at('2026-01-02'),
      }),
    ).toEqual({ due: true, reason: 'forced' });
  });

  it('renews at a third of the lifetime by default, and not before', () => {
    // 90-day certificate: due 30 days before notAfter, i.e. from 2026-03-02.
    expect(decideRenewal({ ...base, current: local(healthy()), now: at('2026-03-01T00:00:00Z') })).toEqual({
      due: false,
      reason: 'valid until 2026-04-01T00:00:00.000Z; due 2026-03-02T00:00:00.000Z',
    });
    expect(decideRenewal({ ...base, current: local(healthy()), now: at('2026-03-03T00:00:00Z') }).due).toBe(
      true,
    );
  });

  it('honours renewBeforeDays, force, name and key type changes', () => {
    const current = local(healthy());
    expect(decideRenewal({ ...base, current, renewBeforeDays: 10, now: at('2026-03-10') }).due).toBe(false);
    expect(decideRenewal({ ...base, current, renewBeforeDays: 10, now: at('2026-03-23') }).due).toBe(true);
    expect(decideRenewal({ ...base, current, force: true, now: at('2026-01-02') })).toEqual({
      due: true,
      reason: 'forced',
    });
    expect(
      decideRenewal({ ...base, current: local(healthy({ domains: ['example.com'] })), now: at('2026-01-02') })
        .reason,
    ).toBe('names changed (local)');
    expect(
      decideRenewal({ ...base, current: local(healthy({ keyType: 'rsa-2048' })), now: at('2026-01-02') })
        .reason,
    ).toBe('key type changed from rsa-2048 to ecdsa-p256');
  });

  it('follows the CA renewal window (RFC 9773) over the lifetime rule', () => {
    const current = local(healthy());
    const window = { start: at('2026-01-10T00:00:00Z'), end: at('2026-01-12T00:00:00Z') };
    // random 0.5 → renew at the middle of the window
    expect(decideRenewal({ ...base, current, window, now: at('2026-01-10T12:00:00Z') }).due).toBe(false);
    expect(decideRenewal({ ...base, current, window, now: at('2026-01-11T00:00:01Z') }).due).toBe(true);
  });

  it('asks the CA about the CertID of a healthy copy only', () => {
    expect(
      ariCertIdOf([
        {
          store: 'local',
          stored: { status: 'broken', problem: 'x', metadata: meta({ ariCertId: 'broken.01' }) },
        },
        { store: 'acm', stored: healthy({ ariCertId: 'good.02' }) },
      ]),
    ).toBe('good.02');
    expect(ariCertIdOf(local(absent))).toBeUndefined();
  });
});
