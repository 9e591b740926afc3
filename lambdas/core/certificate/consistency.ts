/**
 * Whether a stored certificate's files belong together: the key is the certificate's key, the
 * chain issued the certificate (RFC 5280 §6.1 signature and issuer/subject name chaining, one
 * link per certificate), the full chain is the certificate followed by the chain, and the record
 * describes this certificate. Pure: parsing and signature checks by `node:crypto`; no I/O.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { CertificateMetadata } from '../ports';
import { inspectCertificate, splitPemChain } from './inspect';

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
 * empty list when they are consistent. Never includes key material.
 */
export function certificateFileProblems(files: CertificateFiles, metadata: CertificateMetadata): string[] {
  const [leafPem, ...extra] = splitPemChain(files.certificatePem);
  if (leafPem === undefined) return ['cert.pem holds no PEM certificate'];
  const problems: string[] = [];
  if (extra.length > 0) problems.push(`cert.pem holds ${extra.length + 1} certificates, not only the leaf`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch {
    return [...problems, 'cert.pem is not a valid X.509 certificate'];
  }

  const keyProblem = privateKeyProblem(files.privateKeyPem, leaf);
  if (keyProblem) problems.push(keyProblem);
  problems.push(...chainProblems(leaf, files.chainPem));

  const chainBlocks = splitPemChain(files.chainPem);
  const expected = [leafPem, ...chainBlocks].map(normalize);
  const fullchain = splitPemChain(files.fullchainPem).map(normalize);
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

function privateKeyProblem(keyPem: string, leaf: X509Certificate): string | undefined {
  let publicOfPrivate: ReturnType<typeof createPublicKey>;
  try {
    publicOfPrivate = createPublicKey(createPrivateKey(keyPem));
  } catch {
    // Deliberately without the parser's message: it may quote the key.
    return 'privkey.pem is not a readable private key';
  }
  const a = leaf.publicKey.export({ type: 'spki', format: 'der' });
  const b = publicOfPrivate.export({ type: 'spki', format: 'der' });
  return a.equals(b) ? undefined : 'privkey.pem is not the key of cert.pem (another key)';
}

/** Each certificate must be signed by, and name as issuer, the next one in the chain. */
function chainProblems(leaf: X509Certificate, chainPem: string): string[] {
  const blocks = splitPemChain(chainPem);
  // A CA may return the leaf alone (issued straight from a root); then there is nothing to check.
  if (blocks.length === 0) {
    return chainPem.trim() === '' ? [] : ['chain.pem holds no PEM certificate'];
  }
  const chain: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      chain.push(new X509Certificate(block));
    } catch {
      return [`chain.pem certificate ${i + 1} is not a valid X.509 certificate`];
    }
  }
  const links: [X509Certificate, X509Certificate, string][] = [];
  let child = leaf;
  let childName = 'cert.pem';
  chain.forEach((parent, i) => {
    links.push([
      child,
      parent,
      `${childName} was not issued by chain.pem certificate ${i + 1} (${parent.subject.replace(/\n/g, ', ')})`,
    ]);
    child = parent;
    childName = `chain.pem certificate ${i + 1}`;
  });
  return links.flatMap(([c, p, problem]) => (issuedBy(c, p) ? [] : [problem]));
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
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
  if (Date.parse(facts.notAfter) !== Date.parse(metadata.notAfter)) {
    problems.push(`the record says notAfter ${metadata.notAfter} but cert.pem says ${facts.notAfter}`);
  }
  return problems;
}

function normalize(block: string): string {
  return block.replace(/\s+/g, '');
}
