/**
 * Read the public facts of an X.509 certificate (RFC 5280) that storage and renewal decisions
 * need. Pure, no I/O: `node:crypto`'s X509Certificate reads names, serial, validity and keys;
 * asn1js reads the two things it does not expose (the Authority Key Identifier and the serial's
 * DER content octets, for the RFC 9773 CertID).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
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

const BEGIN_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

/**
 * Split a PEM bundle into its certificate blocks, in order (RFC 7468 §5). Text between blocks
 * and non-certificate blocks are dropped. Each block is returned with a trailing newline.
 *
 * @throws InvalidInputError when a certificate block is unfinished (a `BEGIN CERTIFICATE` line
 *   with no `END CERTIFICATE` before the next one or the end: an answer cut short), rather than
 *   dropping it silently.
 */
export function splitPemChain(pem: string): string[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  const begun = pem.split(BEGIN_CERTIFICATE).length - 1;
  const whole = blocks.filter((block) => block.indexOf(BEGIN_CERTIFICATE, 1) === -1).length;
  if (begun !== whole) {
    throw new InvalidInputError(
      `unfinished PEM certificate block: ${begun} BEGIN CERTIFICATE line(s) but ${whole} whole block(s) (a BEGIN without its END CERTIFICATE: the text was cut short)`,
    );
  }
  return blocks.map((block) => `${block.replace(/\r\n/g, '\n')}\n`);
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
  const cert = parseCertificate(first);
  const facts: CertificateFacts = {
    serial: cert.serialNumber.toLowerCase(),
    issuer: commonNameOr(cert.issuer),
    subject: commonNameOr(cert.subject),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    domains: dnsNames(cert),
    keyType: keyTypeOf(cert),
  };
  const ariCertId = ariCertIdOf(cert.raw);
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
  const cert = parseCertificate(first);
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    // Deliberately no cause: parser errors may quote the input, which is a secret.
    return false;
  }
}

function parseCertificate(pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new InvalidInputError('the PEM CERTIFICATE block is not a valid X.509 certificate', {
      cause: error,
    });
  }
}

/**
 * The common name of a distinguished name as node prints it (one `type=value` per line, in DER
 * order), or the whole name as an RFC 4514 string (last RDN first) when it has no CN.
 */
function commonNameOr(dn: string): string {
  const lines = dn.split('\n').filter((l) => l !== '');
  const cn = lines.find((l) => l.startsWith('CN='));
  if (cn !== undefined) return unquote(cn.slice(3));
  return lines.reverse().join(', ');
}

/** Node quotes values with special characters as JSON strings. */
function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    return String(JSON.parse(value));
  } catch {
    return value;
  }
}

/** The subjectAltName dNSName entries (node prints `DNS:a, DNS:b, IP Address:...`). */
function dnsNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (!san) return [];
  const names: string[] = [];
  for (const match of san.matchAll(/(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    names.push(unquote(match[1] ?? '').toLowerCase());
  }
  return names;
}

function keyTypeOf(cert: X509Certificate): KeyType | 'other' {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    if (details.namedCurve === 'prime256v1') return 'ecdsa-p256';
    if (details.namedCurve === 'secp384r1') return 'ecdsa-p384';
    return 'other';
  }
  if (key.asymmetricKeyType === 'rsa') {
    if (details.modulusLength === 2048) return 'rsa-2048';
    if (details.modulusLength === 3072) return 'rsa-3072';
    if (details.modulusLength === 4096) return 'rsa-4096';
  }
  return 'other';
}

const AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';

/**
 * RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial INTEGER content octets),
 * read from the DER (RFC 5280 §4.1: tbsCertificate's serialNumber and [3] extensions; §4.2.1.1:
 * AuthorityKeyIdentifier's [0] keyIdentifier). Undefined without a keyIdentifier.
 */
function ariCertIdOf(der: Buffer): string | undefined {
  const cert = asn1js.fromBER(new Uint8Array(der));
  if (cert.offset === -1 || !(cert.result instanceof asn1js.Sequence)) return undefined;
  const tbs = cert.result.valueBlock.value[0];
  if (!(tbs instanceof asn1js.Sequence)) return undefined;
  const fields = tbs.valueBlock.value;
  const hasVersion = fields[0]?.idBlock.tagClass === 3 && fields[0]?.idBlock.tagNumber === 0;
  const serial = fields[hasVersion ? 1 : 0];
  if (!(serial instanceof asn1js.Integer)) return undefined;
  const extensions = fields.find((f) => f.idBlock.tagClass === 3 && f.idBlock.tagNumber === 3);
  const list = extensions instanceof asn1js.Constructed ? extensions.valueBlock.value[0] : undefined;
  if (!(list instanceof asn1js.Sequence)) return undefined;
  for (const extension of list.valueBlock.value) {
    if (!(extension instanceof asn1js.Sequence)) continue;
    const [id, ...rest] = extension.valueBlock.value;
    if (!(id instanceof asn1js.ObjectIdentifier) || id.valueBlock.toString() !== AUTHORITY_KEY_IDENTIFIER)
      continue;
    const value = rest[rest.length - 1];
    if (!(value instanceof asn1js.OctetString)) return undefined;
    const aki = asn1js.fromBER(value.valueBlock.valueHexView);
    if (aki.offset === -1 || !(aki.result instanceof asn1js.Sequence)) return undefined;
    const keyId = aki.result.valueBlock.value.find(
      (f) => f.idBlock.tagClass === 3 && f.idBlock.tagNumber === 0,
    );
    if (!(keyId instanceof asn1js.Primitive)) return undefined;
    const keyIdentifier = Buffer.from(keyId.valueBlock.valueHexView).toString('base64url');
    const serialOctets = Buffer.from(serial.valueBlock.valueHexView).toString('base64url');
    return `${keyIdentifier}.${serialOctets}`;
  }
  return undefined;
}
