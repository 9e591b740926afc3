/**
 * Whether a stored certificate's files belong together: the key is the certificate's key, the
 * chain issued the certificate (RFC 5280 §6.1 signature and issuer/subject name chaining, one
 * link per certificate; never empty), the full chain is the certificate followed by the chain, and the record
 * describes this certificate. Pure: parsing and signature checks by `node:crypto`; no I/O.
 */
import { errorText } from '../errors';
import type { CertificateMetadata } from '../ports';
import { inspectCertificate, splitPemChain } from './inspect';
import { certificateChainProblems, KEY_UNREADABLE } from './verify';

/** The PEM files of one stored certificate (certbot's names). */
export interface CertificateFiles {
  /** `cert.pem`: the leaf. */
  certificatePem: string;
  /** `chain.pem`: the intermediates, issuer of the leaf first. */
  chainPem: string;
  /** `fullchain.pem`: leaf then intermediates. */
  fullchainPem: string;
  /** `privkey.pem`: never echoed in a problem. */
  privateKeyPem: string;
}

/**
 * Everything that makes these files unusable together, one line each (naming the file), or an
 * empty list when they are consistent: the checks FinalizeAndStore makes before storing (see
 * {@link certificateChainProblems}: whole PEM blocks, the key, a non-empty chain each
 * certificate of which is signed by the next, the trust anchors when given), `fullchain.pem`
 * being `cert.pem` + `chain.pem`, and the record describing `cert.pem` (serial, names, key type,
 * validity). Never includes key material.
 */
export function certificateFileProblems(
  files: CertificateFiles,
  metadata: CertificateMetadata,
  trustAnchors?: string[],
): string[] {
  const chainChecks = certificateChainProblems({
    leafPem: files.certificatePem,
    chainPem: files.chainPem,
    key: files.privateKeyPem,
    ...(trustAnchors ? { trustAnchors } : {}),
    labels: { leaf: 'cert.pem', chain: 'chain.pem' },
  });
  const problems = chainChecks.map((p) =>
    p.check !== 'key'
      ? p.message
      : p.message.endsWith(KEY_UNREADABLE)
        ? 'privkey.pem is not a readable private key'
        : 'privkey.pem is not the key of cert.pem (another key)',
  );
  if (chainChecks.some((p) => p.check === 'format')) return problems;
  const [leafPem] = splitPemChain(files.certificatePem) as [string];
  const expected = [leafPem, ...splitPemChain(files.chainPem)].map(normalize);
  let fullchain: string[];
  try {
    fullchain = splitPemChain(files.fullchainPem).map(normalize);
  } catch (error) {
    return [...problems, `fullchain.pem: ${errorText(error)}`];
  }
  if (expected.length !== fullchain.length || expected.some((block, i) => block !== fullchain[i])) {
    problems.push('fullchain.pem is not cert.pem followed by chain.pem');
  }
  try {
    problems.push(...recordProblems(leafPem, metadata));
  } catch {
    problems.push('cert.pem cannot be inspected (serial, names, validity)');
  }
  return problems;
}

/**
 * The metadata of a stored certificate as its leaf states it (serial, issuer, names, validity,
 * key type, RFC 9773 CertID), keeping from the record only what the certificate cannot say (its
 * name, when it was stored), and the record's key type when the leaf's is one certflow does not
 * issue. Undefined when `leafPem` cannot be read.
 */
export function metadataFromCertificate(
  leafPem: string,
  record: Pick<CertificateMetadata, 'name' | 'storedAt' | 'keyType'>,
): CertificateMetadata | undefined {
  let facts: ReturnType<typeof inspectCertificate>;
  try {
    facts = inspectCertificate(leafPem);
  } catch {
    return undefined;
  }
  return {
    name: record.name,
    domains: facts.domains,
    keyType: facts.keyType === 'other' ? record.keyType : facts.keyType,
    serial: facts.serial,
    issuer: facts.issuer,
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    ...(facts.ariCertId ? { ariCertId: facts.ariCertId } : {}),
    storedAt: record.storedAt,
  };
}

/** The record (metadata.json, tags) must describe the certificate that is stored. */
function recordProblems(leafPem: string, metadata: CertificateMetadata): string[] {
  const facts = inspectCertificate(leafPem);
  const problems: string[] = [];
  if (facts.serial !== metadata.serial.toLowerCase()) {
    problems.push(`the record says serial ${metadata.serial} but cert.pem has serial ${facts.serial}`);
  }
  const recorded = [...metadata.domains].map((d) => d.toLowerCase()).sort();
  const actual = [...facts.domains].sort();
  if (recorded.join(',') !== actual.join(',')) {
    problems.push(
      `the record names ${recorded.join(', ')} but cert.pem names ${actual.join(', ') || 'nothing'}`,
    );
  }
  if (facts.keyType !== metadata.keyType) {
    problems.push(`the record says key type ${metadata.keyType} but cert.pem has a ${facts.keyType} key`);
  }
  for (const field of ['notBefore', 'notAfter'] as const) {
    if (Date.parse(facts[field]) !== Date.parse(metadata[field])) {
      problems.push(`the record says ${field} ${metadata[field]} but cert.pem says ${facts[field]}`);
    }
  }
  return problems;
}

function normalize(block: string): string {
  return block.replace(/\s+/g, '');
}
