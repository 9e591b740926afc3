import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsr } from '../../lambdas/core/certificate/csr';
import { createPrivateKeyPem } from '../../lambdas/core/certificate/keys';
import { InvalidInputError } from '../../lambdas/core/errors';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'certflow-csr-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What openssl reads from a DER CSR (and whether its self-signature verifies). */
function openssl(der: Buffer): string {
  const file = join(dir, 'req.der');
  writeFileSync(file, der);
  return execFileSync('openssl', ['req', '-inform', 'DER', '-in', file, '-noout', '-verify', '-text'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('createCsr (RFC 2986 PKCS#10)', () => {
  it.each([
    ['ecdsa-p256', 'ecdsa-with-SHA256', 'prime256v1'],
    ['ecdsa-p384', 'ecdsa-with-SHA384', 'secp384r1'],
    ['rsa-2048', 'sha256WithRSAEncryption', 'rsaEncryption'],
  ] as const)('%s: openssl verifies it and reads every name and the key', async (keyType, signature, key) => {
    const names = ['www.example.com', '*.example.com', 'example.com'];
    const text = openssl(createCsr(await createPrivateKeyPem(keyType), names));
    expect(text).toContain(`Signature Algorithm: ${signature}`);
    expect(text).toContain(key);
    expect(text).toContain('Subject: CN = www.example.com');
    expect(text).toContain('DNS:www.example.com, DNS:*.example.com, DNS:example.com');
  });

  it('leaves the subject empty when no name fits a commonName (64 characters)', async () => {
    const long = `${'a'.repeat(60)}.example.com`;
    const text = openssl(createCsr(await createPrivateKeyPem('ecdsa-p256'), [long]));
    expect(text).toMatch(/Subject:\s*\n/);
    expect(text).toContain(`DNS:${long}`);
  });

  it('refuses names that are not lowercase ASCII DNS names, and no names', async () => {
    const key = await createPrivateKeyPem('ecdsa-p256');
    expect(() => createCsr(key, ['bücher.example'])).toThrow(InvalidInputError);
    expect(() => createCsr(key, ['bücher.example'])).toThrow('use punycode for IDNs');
    expect(() => createCsr(key, [])).toThrow('a CSR needs at least one DNS name');
  });
});
