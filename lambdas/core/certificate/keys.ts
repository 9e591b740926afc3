/**
 * Private keys for certificates, made with node:crypto: ECDSA P-256/P-384 (RFC 5480) and RSA
 * 2048/3072/4096 (RFC 8017), as PKCS#8 PEM (RFC 5208, RFC 7468 "PRIVATE KEY").
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyType } from '../ports';

const generateKeyPairAsync = promisify(generateKeyPair);

/** A new private key of `keyType`, PKCS#8 PEM. Secret: the caller keeps it out of logs and state. */
export async function createPrivateKeyPem(keyType: KeyType): Promise<string> {
  const { privateKey } =
    keyType === 'ecdsa-p256' || keyType === 'ecdsa-p384'
      ? await generateKeyPairAsync('ec', { namedCurve: keyType === 'ecdsa-p256' ? 'P-256' : 'P-384' })
      : await generateKeyPairAsync('rsa', { modulusLength: rsaBits(keyType), publicExponent: 0x10001 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function rsaBits(keyType: 'rsa-2048' | 'rsa-3072' | 'rsa-4096'): number {
  return Number(keyType.slice(4));
}
