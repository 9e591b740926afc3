/**
 * PKCS#10 certificate signing requests (RFC 2986) for ACME finalization (RFC 8555 §7.4): the
 * names go in a subjectAltName extension request (RFC 5280 §4.2.1.6, PKCS#9 extensionRequest,
 * RFC 2985 §5.4.2) and, when one fits, the first name in the subject commonName. Encoded with
 * asn1js, signed with node:crypto.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import * as asn1js from 'asn1js';
import { InvalidInputError } from '../errors';

const OID = {
  commonName: '2.5.4.3',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

/** RFC 5280 upper bound of a commonName (ub-common-name). */
const MAX_COMMON_NAME = 64;
const DNS_NAME = /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

/**
 * A DER-encoded CSR for `domains` (DNS names, ASCII/punycode, `*.` wildcards allowed), signed
 * by `privateKeyPem` (ECDSA P-256 → ecdsa-with-SHA256, P-384 → ecdsa-with-SHA384, RSA →
 * sha256WithRSAEncryption).
 *
 * @throws InvalidInputError for no names, a name that is not an ASCII DNS name, or a key of
 *   another type (never quoting the key).
 */
export function createCsr(privateKeyPem: string, domains: string[]): Buffer {
  if (domains.length === 0) throw new InvalidInputError('a CSR needs at least one DNS name');
  for (const name of domains) {
    if (!DNS_NAME.test(name)) {
      throw new InvalidInputError(`"${name}" is not a lowercase ASCII DNS name (use punycode for IDNs)`);
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    throw new InvalidInputError('the certificate key is not a PEM private key');
  }
  const { oid, hash, params } = signatureAlgorithm(key);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const commonName = domains.find((d) => d.length <= MAX_COMMON_NAME);

  const subject = new asn1js.Sequence({
    value: commonName
      ? [
          new asn1js.Set({
            value: [
              new asn1js.Sequence({
                value: [
                  new asn1js.ObjectIdentifier({ value: OID.commonName }),
                  new asn1js.Utf8String({ value: commonName }),
                ],
              }),
            ],
          }),
        ]
      : [],
  });
  const generalNames = new asn1js.Sequence({
    // GeneralName dNSName [2] IMPLICIT IA5String
    value: domains.map(
      (name) =>
        new asn1js.Primitive({
          idBlock: { tagClass: 3, tagNumber: 2 },
          valueHex: Buffer.from(name, 'ascii'),
        }),
    ),
  });
  const extensions = new asn1js.Sequence({
    value: [
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: OID.subjectAltName }),
          new asn1js.OctetString({ valueHex: generalNames.toBER() }),
        ],
      }),
    ],
  });
  const info = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 0 }),
      subject,
      parseDer(spki),
      // attributes [0] IMPLICIT SET OF Attribute
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 0 },
        value: [
          new asn1js.Sequence({
            value: [
              new asn1js.ObjectIdentifier({ value: OID.extensionRequest }),
              new asn1js.Set({ value: [extensions] }),
            ],
          }),
        ],
      }),
    ],
  });
  const infoDer = Buffer.from(info.toBER());
  // X.509/PKCS#10 ECDSA signatures are DER (Ecdsa-Sig-Value), node's default dsaEncoding.
  const signature = sign(hash, infoDer, key);
  const request = new asn1js.Sequence({
    value: [
      parseDer(infoDer),
      new asn1js.Sequence({
        value: [new asn1js.ObjectIdentifier({ value: oid }), ...(params ? [new asn1js.Null()] : [])],
      }),
      new asn1js.BitString({ valueHex: signature }),
    ],
  });
  return Buffer.from(request.toBER());
}

function signatureAlgorithm(key: KeyObject): { oid: string; hash: string; params: boolean } {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return { oid: OID.ecdsaWithSha256, hash: 'sha256', params: false };
    if (curve === 'secp384r1') return { oid: OID.ecdsaWithSha384, hash: 'sha384', params: false };
  }
  // RFC 4055 §5: sha256WithRSAEncryption has NULL parameters.
  if (key.asymmetricKeyType === 'rsa') return { oid: OID.sha256WithRsa, hash: 'sha256', params: true };
  throw new InvalidInputError(
    `certificate keys must be ECDSA P-256/P-384 or RSA, not ${key.asymmetricKeyType ?? 'unknown'}`,
  );
}

function parseDer(der: Buffer): asn1js.AsnType {
  const parsed = asn1js.fromBER(new Uint8Array(der));
  if (parsed.offset === -1) throw new InvalidInputError(`cannot re-read DER: ${parsed.result.error}`);
  return parsed.result;
}
