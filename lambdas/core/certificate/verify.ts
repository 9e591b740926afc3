/**
 * Whether an issued certificate is whole and is the one ordered, before anything stores it and
 * whenever a store is asked whether what it holds can be served: the leaf certifies the order's
 * key, names exactly the order's names (RFC 8555 §7.4: the CSR's identifiers), comes with a
 * non-empty chain in which each certificate is signed by the next (RFC 5280 §6.1: issuer/subject
 * name chaining and signature), and, where trust anchors are known, that chain reaches one of
 * them. Pure: parsing and signature checks by `node:crypto`; no I/O. Messages never hold key
 * material.
 */
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { CertificateChainError } from '../errors';
import { splitPemChain } from './inspect';

/**
 * The checks, in the order they run. `format`: every block is a whole PEM certificate that
 * parses; `key`: the leaf certifies the order's key; `names`: the leaf's dNSNames are the order's
 * names; `chain`: the chain is not empty; `signature`: each certificate is signed by, and names
 * as issuer, the next; `trust`: the chain reaches a trust anchor.
 */
export type ChainCheck = 'format' | 'key' | 'names' | 'chain' | 'signature' | 'trust';

/** How a `key` problem ends when the key itself cannot be read. */
export const KEY_UNREADABLE = 'the private key is not readable';

/** One failed check, and what failed, in one line. */
export interface ChainProblem {
  check: ChainCheck;
  message: string;
}

/** What {@link certificateChainProblems} checks. Absent optional fields skip their check. */
export interface CertificateToVerify {
  /** The leaf, one PEM block. */
  leafPem: string;
  /** The intermediates as one PEM bundle, the leaf's issuer first. */
  chainPem: string;
  /** The order's private key (PKCS#8 PEM) or the public key it must certify; skipped when absent. */
  key?: string | KeyObject;
  /** The names ordered; compared as a set, case-insensitively; skipped when absent. */
  domains?: string[];
  /** Root certificates (PEM blocks) the chain must reach; skipped when absent or empty. */
  trustAnchors?: string[];
  /** How the messages name the leaf and the chain (default `the certificate`, `the chain`). */
  labels?: { leaf: string; chain: string };
}

/**
 * Every check {@link CertificateToVerify} fails, each naming the check and what failed; empty
 * when the certificate is whole and is the one ordered.
 */
export function certificateChainProblems(input: CertificateToVerify): ChainProblem[] {
  const leafLabel = input.labels?.leaf ?? 'the certificate';
  const chainLabel = input.labels?.chain ?? 'the chain';
  const problem = (check: ChainCheck, message: string): ChainProblem[] => [{ check, message }];

  let leafBlocks: string[];
  let chainBlocks: string[];
  try {
    leafBlocks = splitPemChain(input.leafPem);
  } catch (error) {
    return problem('format', `${leafLabel}: ${(error as Error).message}`);
  }
  try {
    chainBlocks = splitPemChain(input.chainPem);
  } catch (error) {
    return problem('format', `${chainLabel}: ${(error as Error).message}`);
  }
  const [leafBlock] = leafBlocks;
  if (leafBlock === undefined) return problem('format', `${leafLabel} holds no PEM certificate`);
  if (leafBlocks.length > 1) {
    return problem('format', `${leafLabel} holds ${leafBlocks.length} certificates, not only the leaf`);
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafBlock);
  } catch {
    return problem('format', `${leafLabel} is not a valid X.509 certificate`);
  }
  const chain: X509Certificate[] = [];
  for (const [i, block] of chainBlocks.entries()) {
    try {
      chain.push(new X509Certificate(block));
    } catch {
      return problem('format', `${chainLabel} certificate ${i + 1} is not a valid X.509 certificate`);
    }
  }

  const problems: ChainProblem[] = [];
  if (input.key !== undefined) {
    const keyProblem = publicKeyProblem(input.key, leaf);
    if (keyProblem) problems.push({ check: 'key', message: `${leafLabel} ${keyProblem}` });
  }
  if (input.domains !== undefined) {
    const wanted = [...new Set(input.domains.map((d) => d.toLowerCase()))].sort();
    const actual = [...new Set(dnsNamesOf(leaf))].sort();
    if (wanted.join(',') !== actual.join(',')) {
      problems.push({
        check: 'names',
        message: `${leafLabel} names ${actual.join(', ') || 'nothing'}, but ${wanted.join(', ')} were ordered`,
      });
    }
  }
  if (chain.length === 0) {
    problems.push({
      check: 'chain',
      message: `${chainLabel} is empty: no intermediate certificate came with ${leafLabel}, so clients cannot build a path to a root`,
    });
    return problems;
  }
  let child = leaf;
  let childName = leafLabel;
  for (const [i, parent] of chain.entries()) {
    const parentName = `${chainLabel} certificate ${i + 1} (${oneLine(parent.subject)})`;
    if (!issuedBy(child, parent)) {
      problems.push({ check: 'signature', message: `${childName} was not issued by ${parentName}` });
      return problems;
    }
    child = parent;
    childName = parentName;
  }
  const anchors = input.trustAnchors ?? [];
  if (anchors.length > 0 && !reachesAnchor([leaf, ...chain], anchors)) {
    const top = chain[chain.length - 1] as X509Certificate;
    problems.push({
      check: 'trust',
      message: `${chainLabel} does not lead to a trusted root: its last certificate was issued by ${oneLine(top.issuer)}, which is none of the ${anchors.length} trust anchor(s)`,
    });
  }
  return problems;
}

/**
 * {@link certificateChainProblems}, as an error: throws when any check fails.
 * @throws CertificateChainError naming each failed check.
 */
export function verifyCertificateChain(input: CertificateToVerify): void {
  const problems = certificateChainProblems(input);
  if (problems.length > 0) throw new CertificateChainError(problems);
}

/** The trust anchors in a PEM bundle (every certificate block; other text is ignored). */
export function trustAnchorsOf(bundle: string): string[] {
  return splitPemChain(bundle);
}

function publicKeyProblem(key: string | KeyObject, leaf: X509Certificate): string | undefined {
  let publicKey: KeyObject;
  try {
    publicKey =
      typeof key === 'string'
        ? createPublicKey(createPrivateKey(key))
        : key.type === 'private'
          ? createPublicKey(key)
          : key;
  } catch {
    // Deliberately without the parser's message: it may quote the key.
    return `cannot be compared with the key: ${KEY_UNREADABLE}`;
  }
  const a = leaf.publicKey.export({ type: 'spki', format: 'der' });
  const b = publicKey.export({ type: 'spki', format: 'der' });
  return a.equals(b) ? undefined : 'certifies another key than the one made for the order';
}

/** `child` names `parent` as issuer and `parent`'s key verifies its signature. */
function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/**
 * Whether some certificate of the path is an anchor or was issued by one: a chain may end in a
 * cross-signed intermediate, or include the root itself.
 */
function reachesAnchor(path: X509Certificate[], anchorPems: string[]): boolean {
  const anchors: X509Certificate[] = [];
  for (const pem of anchorPems) {
    try {
      anchors.push(new X509Certificate(pem));
    } catch {
      // An unreadable anchor anchors nothing.
    }
  }
  return path.some((cert) => anchors.some((anchor) => cert.raw.equals(anchor.raw) || issuedBy(cert, anchor)));
}

/** The subjectAltName dNSName entries, lowercase (node prints `DNS:a, DNS:b, IP Address:...`). */
function dnsNamesOf(cert: X509Certificate): string[] {
  const san = cert.subjectAltName ?? '';
  const names: string[] = [];
  for (const match of san.matchAll(/(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    let value = match[1] ?? '';
    if (value.startsWith('"')) {
      try {
        value = String(JSON.parse(value));
      } catch {
        // keep it quoted
      }
    }
    names.push(value.toLowerCase());
  }
  return names;
}

function oneLine(dn: string): string {
  return dn.replace(/\n/g, ', ').replace(/, $/, '');
}
