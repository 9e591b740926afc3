/**
 * A throw-away PKI made with the openssl CLI: a root CA that signs real leaves (ECDSA P-256,
 * subjectAltName dNSNames), so store and renewal tests handle the files a CA would return.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectCertificate } from '../../lambdas/core/certificate/inspect';
import type { IssuedCertificate } from '../../lambdas/core/ports';

export interface TestPki {
  /** A leaf for `domains`, valid for `days` from now, chained to the test CA. */
  issue(name: string, domains: string[], days?: number): IssuedCertificate;
  /** Remove the PKI's directory. */
  cleanup(): void;
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'certflow-pki-'));
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=certflow test CA', '-days', '400'],
  );
  let count = 0;
  return {
    issue(name, domains, days = 90) {
      count += 1;
      const p = `leaf${count}`;
      writeFileSync(join(dir, `${p}.ext`), `subjectAltName=${domains.map((d) => `DNS:${d}`).join(',')}\n`);
      openssl(
        ...['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
        ...['-keyout', `${p}.key`, '-out', `${p}.csr`, '-subj', `/CN=${domains[0]}`],
      );
      openssl(
        ...['x509', '-req', '-in', `${p}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-days', String(days)],
        ...['-extfile', `${p}.ext`, '-out', `${p}.pem`],
      );
      const cert = readFileSync(join(dir, `${p}.pem`), 'utf8');
      const chain = readFileSync(join(dir, 'ca.pem'), 'utf8');
      const facts = inspectCertificate(cert);
      return {
        metadata: {
          name,
          domains,
          keyType: 'ecdsa-p256',
          serial: facts.serial,
          issuer: facts.issuer,
          notBefore: facts.notBefore,
          notAfter: facts.notAfter,
          ...(facts.ariCertId ? { ariCertId: facts.ariCertId } : {}),
          storedAt: new Date().toISOString(),
        },
        certificatePem: cert,
        chainPem: chain,
        fullchainPem: cert + chain,
        privateKeyPem: readFileSync(join(dir, `${p}.key`), 'utf8'),
      };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
