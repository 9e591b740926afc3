import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyMaterial } from './certificates';

/**
 * Every secret a local run leaves in its work directory: the body lines of each certificate's
 * private key (every archived version) and of the ACME account key. A CLI output containing any
 * of them leaked a secret.
 */
export function localSecrets(workdir: string): string[] {
  const secrets: string[] = [];
  const archive = join(workdir, 'certs', 'archive');
  if (existsSync(archive)) {
    for (const name of readdirSync(archive)) {
      for (const version of readdirSync(join(archive, name))) {
        const key = join(archive, name, version, 'privkey.pem');
        if (existsSync(key)) secrets.push(...keyMaterial(key));
      }
    }
  }
  const accounts = join(workdir, 'state', 'accounts');
  if (existsSync(accounts)) {
    for (const file of readdirSync(accounts)) {
      const { keyPem } = JSON.parse(readFileSync(join(accounts, file), 'utf8')) as { keyPem: string };
      secrets.push(...keyPem.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----')));
    }
  }
  return secrets;
}

/** Assert that no secret and no PEM private key block appears in `text`. */
export function expectNoSecret(text: string, secrets: string[]): void {
  expect(secrets.length).toBeGreaterThan(0);
  expect(text).not.toMatch(/PRIVATE KEY/);
  for (const s of secrets) expect(text).not.toContain(s);
}
