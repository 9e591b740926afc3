/**
 * The check the test suite makes after every successful local run: each certificate the run
 * reports ISSUED verifies with `openssl verify` against the CA's root (the bundled Pebble's roots,
 * the configured trust anchors, or the root of any Pebble a test started) with its stored chain,
 * and `privkey.pem` is the key of `cert.pem`. Installed for every test file by
 * test/support/check-issued-runs.ts; it is not a test of its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LocalRunResult } from '../../local/run-local';
import { runningTestPebbles } from './pebble-fixture';

const openssl = (...args: string[]): string =>
  execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The roots a certificate of this run may chain to, as one PEM bundle. */
async function candidateRoots(result: LocalRunResult, config: RunConfig): Promise<string> {
  const roots: string[] = [];
  if (result.caRootFile && existsSync(result.caRootFile)) roots.push(readFileSync(result.caRootFile, 'utf8'));
  const anchors = config.acme?.trustAnchorsFile;
  if (anchors && existsSync(anchors)) roots.push(readFileSync(anchors, 'utf8'));
  for (const pebble of runningTestPebbles) {
    const root = await pebble.rootCertificatePem().catch(() => undefined);
    if (root) roots.push(root);
  }
  return roots.map((r) => (r.endsWith('\n') ? r : `${r}\n`)).join('');
}

interface RunConfig {
  acme?: { trustAnchorsFile?: string };
  storage?: { localDirectory?: string };
}

/**
 * Throws, naming the certificate and openssl's words, unless every certificate a successful
 * (exit 0, not dry) run reports ISSUED verifies against a CA root and matches its private key.
 */
export async function checkIssuedCertificates(result: LocalRunResult): Promise<void> {
  const issued = result.summary?.issued ?? [];
  if (result.exitCode !== 0 || result.summary?.dryRun || issued.length === 0) return;
  const configFile = join(result.runDirectory, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as RunConfig;
  const store = config.storage?.localDirectory;
  if (!store) return;
  const roots = await candidateRoots(result, config);
  const work = mkdtempSync(join(tmpdir(), 'certflow-issued-check-'));
  try {
    const bundle = join(work, 'roots.pem');
    writeFileSync(bundle, roots);
    const failures: string[] = [];
    for (const { certificate } of issued) {
      const live = join(resolve(store), 'live', certificate);
      const cert = join(live, 'cert.pem');
      try {
        const verdict = openssl(
          'verify',
          '-CAfile',
          bundle,
          '-untrusted',
          join(live, 'chain.pem'),
          cert,
        ).trim();
        if (!verdict.endsWith(': OK')) failures.push(`${certificate}: openssl verify said ${verdict}`);
        const certKey = openssl('x509', '-in', cert, '-noout', '-pubkey');
        const ownKey = openssl('pkey', '-in', join(live, 'privkey.pem'), '-pubout');
        if (certKey.trim() !== ownKey.trim())
          failures.push(`${certificate}: privkey.pem is not the key of cert.pem`);
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? '';
        const stdout = (error as { stdout?: string }).stdout ?? '';
        failures.push(`${certificate}: ${`${stdout} ${stderr}`.trim() || String(error)}`);
      }
    }
    if (failures.length > 0) {
      throw new Error(
        `the run exited 0 reporting ISSUED, but ${failures.length} certificate(s) do not verify against the CA's root with their chain and key (${live(store)}):\n  ${failures.join('\n  ')}`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const live = (store: string): string => join(resolve(store), 'live');

/**
 * The same check for a `certflow local` child process that exited 0: the certificates its report
 * names ISSUED (a named line, not a count), in the newest run record of its work directory.
 */
export async function checkIssuedCliRun(run: { args: string[]; cwd: string; stdout: string }): Promise<void> {
  const [command, ...rest] = run.args;
  if (command !== 'local' || rest.includes('--dry-run')) return;
  const flag = rest.findIndex((a) => a === '--workdir' || a === '-w');
  const workdir = resolve(run.cwd, flag >= 0 ? (rest[flag + 1] ?? '.certflow-local') : '.certflow-local');
  const runs = join(workdir, 'runs');
  if (!existsSync(runs)) return;
  const newest = readdirSync(runs).sort().pop();
  if (!newest) return;
  const issued = [
    ...run.stdout.matchAll(/^ISSUED {3}(\S+)(?: \(notAfter [^)]*\))?(?: WITH VALUES LEFT BEHIND)?$/gm),
  ]
    .map((m) => m[1] as string)
    .filter((name) => !/^\d+$/.test(name));
  const bundledRoots = join(workdir, 'pebble-roots.pem');
  await checkIssuedCertificates({
    exitCode: 0,
    runDirectory: join(runs, newest),
    historyFile: join(runs, newest, 'history.json'),
    durationMs: 0,
    ...(existsSync(bundledRoots) ? { caRootFile: bundledRoots } : {}),
    summary: { issued: issued.map((certificate) => ({ certificate })) },
  } as unknown as LocalRunResult);
}
