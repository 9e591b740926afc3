/**
 * Certificate metadata as AWS resource tags, so renewal can read it with `DescribeSecret`
 * without ever reading the secret value (the private key).
 *
 * Tag limits (Secrets Manager): 50 tags per secret, values up to 255 characters, portable
 * characters `A-Z a-z 0-9 space + - = . _ : / @`. Free text (the issuer, the domain names, which
 * may be wildcards) is escaped: any other character, and `_` itself, becomes `_XX` per UTF-8
 * octet. The domain list is space-joined and spread over as many `certflow:domains:<n>` tags as
 * needed; `certflow:domainCount` and `certflow:domainsSha256` let the reader prove it rebuilt the
 * exact list (a half-written set of tags reads as "no metadata", which makes renewal re-issue).
 */
import { createHash } from 'node:crypto';
import { KEY_TYPES } from '../../../core/config/schema';
import type { CertificateMetadata, KeyType } from '../../../core/ports';

export interface Tag {
  Key: string;
  Value: string;
}

export const TAG_PREFIX = 'certflow:';
export const MAX_TAGS_PER_SECRET = 50;
export const MAX_TAG_VALUE = 255;
const DOMAINS_PREFIX = `${TAG_PREFIX}domains:`;

export const TAG = {
  certificate: `${TAG_PREFIX}certificate`,
  serial: `${TAG_PREFIX}serial`,
  notBefore: `${TAG_PREFIX}notBefore`,
  notAfter: `${TAG_PREFIX}notAfter`,
  keyType: `${TAG_PREFIX}keyType`,
  issuer: `${TAG_PREFIX}issuer`,
  storedAt: `${TAG_PREFIX}storedAt`,
  ariCertId: `${TAG_PREFIX}ariCertId`,
  domainCount: `${TAG_PREFIX}domainCount`,
  domainsSha256: `${TAG_PREFIX}domainsSha256`,
  /** The secret version (PutSecretValue's VersionId) that holds the certificate the tags describe. */
  versionId: `${TAG_PREFIX}versionId`,
} as const;

const SAFE = /^[A-Za-z0-9 +\-=.:/@]$/;

/** Escape free text into portable tag characters (reversible with {@link decodeTagText}). */
export function encodeTagText(text: string): string {
  let out = '';
  for (const ch of text) {
    if (SAFE.test(ch)) out += ch;
    else
      for (const byte of Buffer.from(ch, 'utf8'))
        out += `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Reverse {@link encodeTagText}. */
export function decodeTagText(value: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; ) {
    const hex = value.slice(i + 1, i + 3);
    if (value[i] === '_' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    } else {
      bytes.push(...Buffer.from(value.charAt(i), 'utf8'));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Cut encoded text into values of at most `max` characters, never inside a `_XX` escape and never
 * next to a space (so no value starts or ends with whitespace a tagging UI might trim).
 */
export function chunkEncoded(encoded: string, max = MAX_TAG_VALUE): string[] {
  const chunks: string[] = [];
  let rest = encoded;
  const canCut = (at: number): boolean =>
    rest.charAt(at - 1) !== ' ' &&
    rest.charAt(at) !== ' ' &&
    rest.charAt(at - 1) !== '_' &&
    rest.charAt(at - 2) !== '_';
  while (rest.length > max) {
    let cut = max;
    while (cut > 1 && !canCut(cut)) cut--;
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length > 0) chunks.push(rest);
  return chunks;
}

/** Encoded text cut to at most `max` characters without splitting an escape. */
function truncateEncoded(encoded: string, max = MAX_TAG_VALUE): string {
  return chunkEncoded(encoded, max)[0] ?? '';
}

/** SHA-256 (hex) of the domain list, newline-joined, in order. */
export function domainsDigest(domains: string[]): string {
  return createHash('sha256').update(domains.join('\n')).digest('hex');
}

/** The tags that describe `metadata` (public facts only). */
export function metadataToTags(metadata: CertificateMetadata): Tag[] {
  const tags: Tag[] = [
    { Key: TAG.certificate, Value: metadata.name },
    { Key: TAG.serial, Value: truncateEncoded(encodeTagText(metadata.serial)) },
    { Key: TAG.notBefore, Value: metadata.notBefore },
    { Key: TAG.notAfter, Value: metadata.notAfter },
    { Key: TAG.keyType, Value: metadata.keyType },
    { Key: TAG.issuer, Value: truncateEncoded(encodeTagText(metadata.issuer)) },
    { Key: TAG.storedAt, Value: metadata.storedAt },
    { Key: TAG.domainCount, Value: String(metadata.domains.length) },
    { Key: TAG.domainsSha256, Value: domainsDigest(metadata.domains) },
  ];
  if (metadata.ariCertId !== undefined) {
    tags.push({ Key: TAG.ariCertId, Value: truncateEncoded(encodeTagText(metadata.ariCertId)) });
  }
  chunkEncoded(metadata.domains.map(encodeTagText).join(' ')).forEach((chunk, i) => {
    tags.push({ Key: `${DOMAINS_PREFIX}${i}`, Value: chunk });
  });
  return tags;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * Rebuild the metadata from tags. Undefined when there is none, or when the tags are
 * incomplete or inconsistent (for example a put that stopped half-way), so renewal re-issues.
 */
export function tagsToMetadata(name: string, tags: Tag[]): CertificateMetadata | undefined {
  const byKey = new Map(tags.map((t) => [t.Key, t.Value]));
  const get = (key: string): string | undefined => byKey.get(key);
  const serial = get(TAG.serial);
  const notBefore = get(TAG.notBefore);
  const notAfter = get(TAG.notAfter);
  const keyType = get(TAG.keyType);
  const issuer = get(TAG.issuer);
  const storedAt = get(TAG.storedAt);
  const count = Number(get(TAG.domainCount));
  const digest = get(TAG.domainsSha256);
  if (
    !serial ||
    !notBefore ||
    !notAfter ||
    !ISO_DATE.test(notBefore) ||
    !ISO_DATE.test(notAfter) ||
    !keyType ||
    !(KEY_TYPES as readonly string[]).includes(keyType) ||
    issuer === undefined ||
    !storedAt ||
    !Number.isInteger(count) ||
    count < 1 ||
    !digest
  ) {
    return undefined;
  }
  // Read chunks until the list matches its digest (a stale extra chunk is then ignored).
  let joined = '';
  let domains: string[] | undefined;
  for (let i = 0; byKey.has(`${DOMAINS_PREFIX}${i}`) && domains === undefined; i++) {
    joined += get(`${DOMAINS_PREFIX}${i}`) ?? '';
    const candidate = joined.split(' ').filter(Boolean).map(decodeTagText);
    if (candidate.length === count && domainsDigest(candidate) === digest) domains = candidate;
  }
  if (domains === undefined) return undefined;
  const metadata: CertificateMetadata = {
    name,
    domains,
    keyType: keyType as KeyType,
    serial: decodeTagText(serial),
    issuer: decodeTagText(issuer),
    notBefore,
    notAfter,
    storedAt,
  };
  const ariCertId = get(TAG.ariCertId);
  if (ariCertId) metadata.ariCertId = decodeTagText(ariCertId);
  return metadata;
}

/** True for the tag keys this module owns. */
export function isCertflowTag(key: string): boolean {
  return key.startsWith(TAG_PREFIX);
}
