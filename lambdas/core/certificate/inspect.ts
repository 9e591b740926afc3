/**
 * Read the public facts of an X.509 certificate (RFC 5280) that storage and renewal decisions
 * need. Pure: parsing is done by `@peculiar/x509`, key comparison by `node:crypto`; no I/O.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import {
  AuthorityKeyIdentifierExtension,
  SubjectAlternativeNameExtension,
  X509Certificate,
} from '@peculiar/x509';
import { InvalidInputError } from '../errors';
import type { KeyType } from '../ports';

/** What {@link inspectCertificate} reports about one certificate. */
export interface CertificateFacts {
  /** Serial number (RFC 5280 §4.1.2.2), lowercase hex of its value, as `openssl x509 -serial` prints it. */
  serial: string;
  /** The issuer's common name, or the whole issuer DN (RFC 4514 string) when it has no CN. */
  issuer: string;
  /** The subject's common name, or the whole subject DN when it has no CN (often empty for ACME leaves). */
  subject: string;
  /** Start of validity, ISO 8601. */
  notBefore: string;
  /** End of validity, ISO 8601. */
  notAfter: string;
  /** The subjectAltName dNSName entries (RFC 5280 §4.2.1.6), lowercase, in certificate order. */
  domains: string[];
  /** The subject public key's type, or `other` for keys certflow does not issue. */
  keyType: KeyType | 'other';
  /** RFC 9773 §4.1 CertID, present when the certificate has an Authority Key Identifier with a keyIdentifier. */
  ariCertId?: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Gives access to the DER content octets of the serial INTEGER, which RFC 9773 §4.1 needs verbatim. */
class InspectableCertificate extends X509Certificate {
  serialContentOctets(): Uint8Array {
    return new Uint8Array(this.asn.tbsCertificate.serialNumber);
  }
}

/**
 * Split a PEM bundle into its certificate blocks, in order (RFC 7468 §5). Text between blocks
 * and non-certificate blocks are dropped. Each block is returned with a trailing newline.
 */
export function splitPemChain(pem: string): string[] {
  return (pem.match(PEM_CERTIFICATE) ?? []).map((block) => `${block.replace(/\r\n/g, '\n')}\n`);
}

/**
 * Inspect the first certificate in `pem` (RFC 5280 §4.1): serial, issuer, subject, validity,
 * subjectAltName dNSNames, key type and the RFC 9773 §4.1 ACME Renewal Information CertID.
 *
 * @throws InvalidInputError when `pem` holds no parsable certificate.
 */
export function inspectCertificate(pem: string): CertificateFacts {
  const [first] = splitPemChain(pem);
  if (first === undefined) throw new InvalidInputError('no PEM CERTIFICATE block found');
  let cert: InspectableCertificate;
  try {
    cert = new InspectableCertificate(first);
  } catch (error) {
    throw new InvalidInputError('the PEM CERTIFICATE block is not a valid X.509 certificate', {
      cause: error,
    });
  }
  const facts: CertificateFacts = {
    serial: cert.serialNumber.toLowerCase(),
    issuer: commonNameOr(cert.issuerName.getField('CN'), cert.issuer),
    subject: commonNameOr(cert.subjectName.getField('CN'), cert.subject),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    domains: dnsNames(cert),
    keyType: keyTypeOf(cert),
  };
  const ariCertId = ariCertIdOf(cert);
  if (ariCertId !== undefined) facts.ariCertId = ariCertId;
  return facts;
}

/**
 * Whether the private key in `keyPem` is the one whose public key `certPem`'s (first) certificate
 * certifies: the SubjectPublicKeyInfo DER of both are compared. A key that cannot be parsed does
 * not match (and is never echoed).
 *
 * @throws InvalidInputError when `certPem` holds no parsable certificate.
 */
export function privateKeyMatchesCertificate(keyPem: string, certPem: string): boolean {
  const [first] = splitPemChain(certPem);
  if (first === undefined) throw new InvalidInputError('no PEM CERTIFICATE block found');
  let certKey: KeyObject;
  try {
    certKey = createPublicKey(first);
  } catch (error) {
    throw new InvalidInputError('the PEM CERTIFICATE block is not a valid X.509 certificate', {
      cause: error,
    });
  }
  let publicOfPrivate: KeyObject;
  try {
    publicOfPrivate = createPublicKey(createPrivateKey(keyPem));
  } catch {
    // Deliberately no cause: parser errors may quote the input, which is a secret.
    return false;
  }
  const a = certKey.export({ type: 'spki', format: 'der' });
  const b = publicOfPrivate.export({ type: 'spki', format: 'der' });
  return a.equals(b);
}

function commonNameOr(cns: string[], dn: string): string {
  return cns[0] ?? dn;
}

function dnsNames(cert: X509Certificate): string[] {
  const san = cert.getExtension(SubjectAlternativeNameExtension);
  if (!san) return [];
  return san.names.items.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase());
}

function keyTypeOf(cert: X509Certificate): KeyType | 'other' {
  const algorithm: { name: string; namedCurve?: unknown; modulusLength?: unknown } = cert.publicKey.algorithm;
  if (algorithm.name === 'ECDSA') {
    if (algorithm.namedCurve === 'P-256') return 'ecdsa-p256';
    if (algorithm.namedCurve === 'P-384') return 'ecdsa-p384';
    return 'other';
  }
  if (algorithm.name.startsWith('RSA')) {
    if (algorithm.modulusLength === 2048) return 'rsa-2048';
    if (algorithm.modulusLength === 3072) return 'rsa-3072';
    if (algorithm.modulusLength === 4096) return 'rsa-4096';
  }
  return 'other';
}

/** RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial INTEGER content octets). */
function ariCertIdOf(cert: InspectableCertificate): string | undefined {
  const aki = cert.getExtension(AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) return undefined;
  const keyId = Buffer.from(aki.keyId, 'hex').toString('base64url');
  const serial = Buffer.from(cert.serialContentOctets()).toString('base64url');
  return `${keyId}.${serial}`;
}
