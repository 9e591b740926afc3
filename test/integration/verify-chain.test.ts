import { generateKeyPairSync } from 'node:crypto';
import { splitPemChain } from '../../lambdas/core/certificate/inspect';
import { certificateChainProblems, verifyCertificateChain } from '../../lambdas/core/certificate/verify';
import { CertificateChainError } from '../../lambdas/core/errors';
import { createTestPki, type TestPki } from '../support/test-pki';

/**
 * The one verification FinalizeAndStore makes before any store, and the local store's health
 * check repeats: real certificates from an openssl test CA, each fault made the way a CA's answer
 * would carry it.
 */
describe('certificate chain verification', () => {
  let pki: TestPki;
  let other: TestPki;
  beforeAll(() => {
    pki = createTestPki();
    other = createTestPki();
  });
  afterAll(() => {
    pki.cleanup();
    other.cleanup();
  });
  const issued = () => pki.issue('www', ['www.example.test', 'example.test']);
  const checks = (input: Parameters<typeof certificateChainProblems>[0]) =>
    certificateChainProblems(input).map((p) => p.check);

  it('a whole certificate for the order passes every check, with its root as trust anchor', () => {
    const c = issued();
    expect(
      certificateChainProblems({
        leafPem: c.certificatePem,
        chainPem: c.chainPem,
        key: c.privateKeyPem,
        domains: ['EXAMPLE.test', 'www.example.test'],
        trustAnchors: [c.chainPem],
      }),
    ).toEqual([]);
  });

  it('an empty chain fails "chain"; a leaf cut short fails "format"', () => {
    const c = issued();
    expect(checks({ leafPem: c.certificatePem, chainPem: '' })).toEqual(['chain']);
    const cut = c.fullchainPem.slice(0, c.fullchainPem.length - 60);
    expect(() => splitPemChain(cut)).toThrow(
      /unfinished PEM certificate block: 2 BEGIN CERTIFICATE line\(s\) but 1 whole/,
    );
    expect(
      certificateChainProblems({ leafPem: c.certificatePem, chainPem: cut.slice(c.certificatePem.length) }),
    ).toEqual([
      { check: 'format', message: expect.stringMatching(/^the chain: unfinished PEM certificate block/) },
    ]);
  });

  it('another CA\'s certificate as chain fails "signature"; a chain to another root fails "trust"', () => {
    const c = issued();
    const stranger = other.issue('x', ['x.example.test']).chainPem;
    expect(checks({ leafPem: c.certificatePem, chainPem: stranger })).toEqual(['signature']);
    expect(checks({ leafPem: c.certificatePem, chainPem: c.chainPem, trustAnchors: [stranger] })).toEqual([
      'trust',
    ]);
  });

  it('another key fails "key", other names fail "names", and the error names each check without key material', () => {
    const c = issued();
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    let error: unknown;
    try {
      verifyCertificateChain({
        leafPem: c.certificatePem,
        chainPem: c.chainPem,
        key: otherKey,
        domains: ['www.example.test'],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CertificateChainError);
    expect((error as CertificateChainError).checks).toEqual(['key', 'names']);
    expect((error as Error).message).toMatch(
      /key: the certificate certifies another key than the one made for the order/,
    );
    expect((error as Error).message).toMatch(
      /names: the certificate names example\.test, www\.example\.test, but www\.example\.test were ordered/,
    );
    expect((error as Error).message).not.toMatch(/PRIVATE KEY|BEGIN/);
  });
});
