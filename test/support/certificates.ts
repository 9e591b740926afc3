import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** `openssl verify` of a live certificate directory against a root; returns openssl's output. */
export function opensslVerify(root: string, liveDir: string): string {
  return execFileSync(
    'openssl',
    ['verify', '-CAfile', root, '-untrusted', join(liveDir, 'chain.pem'), join(liveDir, 'cert.pem')],
    {
      encoding: 'utf8',
    },
  ).trim();
}

/** The certificate's SAN dNSNames as openssl prints them. */
export function sanNames(certFile: string): string[] {
  const text = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-ext', 'subjectAltName'], {
    encoding: 'utf8',
  });
  return [...text.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1]).sort();
}

/** openssl's description of the certificate's public key, e.g. "id-ecPublicKey 256 prime256v1". */
export function publicKeyDescription(certFile: string): string {
  const text = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-text'], { encoding: 'utf8' });
  const algorithm = /Public Key Algorithm: (\S+)/.exec(text)?.[1] ?? '?';
  const bits = /Public-Key: \((\d+) bit\)/.exec(text)?.[1] ?? '?';
  const curve = /ASN1 OID: (\S+)/.exec(text)?.[1] ?? '';
  return `${algorithm} ${bits} ${curve}`.trim();
}

/** The certificate's serial as openssl prints it. */
export function serialOf(certFile: string): string {
  return execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-serial'], { encoding: 'utf8' }).trim();
}

/** Every file under a directory, with its bytes (follows the live/ symlink). */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
      else out[`${prefix}${name}`] = readFileSync(path).toString('base64');
    }
  };
  walk(dir, '');
  return out;
}

/** The base64 body lines of a PEM private key (what a leak would contain). */
export function keyMaterial(pemFile: string): string[] {
  return readFileSync(pemFile, 'utf8')
    .split('\n')
    .filter((l) => l.length >= 40 && !l.startsWith('-----'));
}
