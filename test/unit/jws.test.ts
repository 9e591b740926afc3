import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import {
  AccountKey,
  createAccountKeyPem,
  dns01TxtValue,
  externalAccountBinding,
  jwkThumbprint,
} from '../../lambdas/core/acme/jws';

const decode = (part: string): unknown => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

describe('JWS for ACME (RFC 7515, RFC 8555 §6.2)', () => {
  it('computes the RFC 7638 §3.1 example thumbprint', () => {
    // The RSA key of RFC 7638 §3.1 and its thumbprint, as printed there.
    const jwk = {
      kty: 'RSA' as const,
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
    };
    expect(jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('signs ES256 over "protected.payload" with an R||S signature the JWK verifies', async () => {
    const key = new AccountKey(await createAccountKeyPem());
    const jws = key.sign(
      { url: 'https://ca.test/new-order', nonce: 'n1', kid: 'https://ca.test/acct/1' },
      { a: 1 },
    );

    expect(decode(jws.protected)).toEqual({
      alg: 'ES256',
      nonce: 'n1',
      url: 'https://ca.test/new-order',
      kid: 'https://ca.test/acct/1',
    });
    expect(decode(jws.payload)).toEqual({ a: 1 });
    const signature = Buffer.from(jws.signature, 'base64url');
    expect(signature).toHaveLength(64);
    const publicKey = createPublicKey({ key: key.jwk, format: 'jwk' });
    const input = Buffer.from(`${jws.protected}.${jws.payload}`);
    expect(verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
  });

  it('puts the JWK (no kid) in newAccount requests and an empty payload in POST-as-GET (§6.3)', async () => {
    const key = new AccountKey(await createAccountKeyPem());
    const jws = key.sign({ url: 'https://ca.test/order/1', nonce: 'n2' }, undefined);
    expect(jws.payload).toBe('');
    expect(decode(jws.protected)).toEqual({
      alg: 'ES256',
      nonce: 'n2',
      url: 'https://ca.test/order/1',
      jwk: key.jwk,
    });
  });

  it('uses RS256 for an RSA account key and refuses other key types', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(new AccountKey(rsa).alg).toBe('RS256');
    const ed = generateKeyPairSync('ed25519').privateKey;
    expect(() => new AccountKey(ed)).toThrow(
      'the ACME account key is ed25519; use ECDSA P-256 (ES256), P-384 or RSA',
    );
    expect(() => new AccountKey('-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----')).toThrow(
      'the ACME account key is not a PEM private key',
    );
  });

  it('MACs the External Account Binding over the account JWK with HS256 (§7.3.4)', async () => {
    const key = new AccountKey(await createAccountKeyPem());
    const hmacKey = Buffer.from('an example MAC key of 32 bytes!!').toString('base64url');
    const eab = externalAccountBinding({ kid: 'kid-1', hmacKey }, 'https://ca.test/new-acct', key.jwk);
    expect(decode(eab.protected)).toEqual({ alg: 'HS256', kid: 'kid-1', url: 'https://ca.test/new-acct' });
    expect(decode(eab.payload)).toEqual(key.jwk);
    const { createHmac } = await import('node:crypto');
    const mac = createHmac('sha256', Buffer.from(hmacKey, 'base64url'))
      .update(`${eab.protected}.${eab.payload}`)
      .digest('base64url');
    expect(eab.signature).toBe(mac);
  });

  it('derives the dns-01 TXT value from the token and the key thumbprint (§8.1, §8.4)', async () => {
    const key = new AccountKey(await createAccountKeyPem());
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha256').update(`token-1.${key.thumbprint()}`).digest('base64url');
    expect(dns01TxtValue('token-1', key)).toBe(expected);
  });
});
