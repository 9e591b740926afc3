/**
 * A throw-away TLS server certificate for Pebble's loopback listeners (RFC 8555 §6.1 requires
 * HTTPS for the ACME server). Clients trust exactly this certificate, nothing system-wide.
 */
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { LocalServerError } from '../lambdas/core/errors';

const DAY_MS = 24 * 60 * 60 * 1000;
const ALWAYS = ['127.0.0.1', 'localhost'];
/** Node's WebCrypto, typed as the provider @peculiar/x509 expects. */
type X509Crypto = NonNullable<Parameters<typeof X509CertificateGenerator.createSelfSigned>[1]>;

/**
 * A self-signed ECDSA P-256 certificate (RFC 5280) valid for one day, with subjectAltName
 * entries (RFC 5280 §4.2.1.6) for 127.0.0.1, localhost and `hosts` (IP literals become iPAddress
 * entries, names dNSName entries). The key is PKCS#8 PEM.
 */
export async function createSelfSignedTls(hosts: string[]): Promise<{ certPem: string; keyPem: string }> {
  const names = [...new Set([...ALWAYS, ...hosts.map((h) => h.toLowerCase())])];
  const crypto = webcrypto;
  try {
    const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
    const now = Date.now();
    const cert = await X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: `01${Buffer.from(crypto.getRandomValues(new Uint8Array(15))).toString('hex')}`,
        name: 'CN=certflow local Pebble',
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + DAY_MS),
        keys,
        signingAlgorithm: algorithm,
        extensions: [
          new BasicConstraintsExtension(false, undefined, true),
          new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
          new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth]),
          new SubjectAlternativeNameExtension(
            names.map((n) =>
              isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n },
            ),
          ),
        ],
      },
      crypto as unknown as X509Crypto,
    );
    const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
    return { certPem: `${cert.toString('pem')}\n`, keyPem: `${PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n` };
  } catch (error) {
    throw new LocalServerError('cannot create the TLS certificate for the local ACME server', {
      cause: error,
    });
  }
}
