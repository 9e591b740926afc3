import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalRunResult, runLocal } from '../../local/run-local';
import {
  keyMaterial,
  opensslVerify,
  publicKeyDescription,
  sanNames,
  serialOf,
  snapshotTree,
} from '../support/certificates';

/**
 * `npm run local` as a user runs it: bundled Pebble + BIND on loopback, the rendered state
 * machine on aws-local-stepfunctions, the real handlers, the local certificate store.
 */
describe('local mode with the bundled Pebble and BIND', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-e2e-'));
  const live = (name: string) => join(workdir, 'certs', 'live', name);
  const runs: { result: LocalRunResult; lines: string[] }[] = [];
  const run = async (opts: { force?: boolean; certificates?: string[]; dryRun?: boolean } = {}) => {
    const lines: string[] = [];
    const result = await runLocal({ workdir, out: (l) => lines.push(l), ...opts });
    runs.push({ result, lines });
    return { result, lines };
  };

  it('issues the demo certificates that verify against Pebble, with exactly the configured names, ECDSA P-256', async () => {
    const { result, lines } = await run();
    expect(lines.join('\n')).toContain('ISSUED   example-test');
    expect(result.exitCode).toBe(0);
    expect(result.summary?.issuedCount).toBe(2);
    const root = result.caRootFile as string;
    for (const [name, names] of [
      ['example-test', ['*.example.test', 'example.test']],
      ['www-example-test', ['www.example.test']],
    ] as const) {
      expect(opensslVerify(root, live(name))).toBe(`${join(live(name), 'cert.pem')}: OK`);
      expect(sanNames(join(live(name), 'cert.pem'))).toEqual(names);
      expect(publicKeyDescription(join(live(name), 'cert.pem'))).toBe('id-ecPublicKey 256 prime256v1');
      expect(statSync(join(live(name), 'privkey.pem')).mode & 0o777).toBe(0o600);
      const fullchain = readFileSync(join(live(name), 'fullchain.pem'), 'utf8');
      expect(fullchain).toBe(
        readFileSync(join(live(name), 'cert.pem'), 'utf8') +
          readFileSync(join(live(name), 'chain.pem'), 'utf8'),
      );
    }
    // one line per state as it goes, then the report and the timing
    expect(lines.some((l) => /example-test\s+CreateOrder\s+ok/.test(l))).toBe(true);
    expect(lines.some((l) => /www-example-test\s+FinalizeAndStore\s+ok/.test(l))).toBe(true);
    expect(lines).toContain('  key type: ecdsa-p256');
    expect(lines.some((l) => l.startsWith('  notAfter: '))).toBe(true);
    expect(lines.some((l) => /run took \d+\.\d s/.test(l))).toBe(true);
    // the printed verify command is the one this test runs
    expect(lines).toContain(
      `verify:   openssl verify -CAfile ${root} -untrusted ${live('example-test')}/chain.pem ${live('example-test')}/cert.pem`,
    );
    // nothing of ours left in the delegated zone (asked of BIND before it stopped)
    expect(lines.some((l) => l.startsWith('delegated zone: no TXT value of this run remains'))).toBe(true);
    expect(JSON.parse(readFileSync(join(result.runDirectory, 'leftover-txt.json'), 'utf8'))).toEqual({
      checked: [expect.stringMatching(/^127\.0\.0\.1:\d+$/)],
      left: [],
      unchecked: [],
      published: 3, // example.test and *.example.test: two values at one name; www.example.test: one
      unanswered: [],
    });
  });

  it('issues nothing on a second run right after: not due', async () => {
    const before = serialOf(join(live('www-example-test'), 'cert.pem'));
    const { result, lines } = await run();
    expect(result.exitCode).toBe(0);
    expect(result.summary).toMatchObject({ issuedCount: 0, failedCount: 0, skippedCount: 2 });
    expect(lines.filter((l) => l.startsWith('NOT DUE  '))).toHaveLength(2);
    expect(lines.some((l) => /\sCreateOrder\s/.test(l))).toBe(false);
    // nothing was published, so nothing is claimed to have been checked
    expect(lines).toContain('delegated zone: this run published no TXT value');
    expect(lines.some((l) => l.includes('no TXT value of this run remains'))).toBe(false);
    expect(serialOf(join(live('www-example-test'), 'cert.pem'))).toBe(before);
  });

  it('renews when forced, only the certificates asked for', async () => {
    const wwwBefore = serialOf(join(live('www-example-test'), 'cert.pem'));
    const exampleBefore = serialOf(join(live('example-test'), 'cert.pem'));
    const { result } = await run({ force: true, certificates: ['www-example-test'] });
    expect(result.exitCode).toBe(0);
    expect(result.summary?.issued.map((i) => i.certificate)).toEqual(['www-example-test']);
    expect(serialOf(join(live('www-example-test'), 'cert.pem'))).not.toBe(wwwBefore);
    expect(serialOf(join(live('example-test'), 'cert.pem'))).toBe(exampleBefore);
    // Pebble made a new root for this run; both the new and the older certificate still verify
    expect(opensslVerify(result.caRootFile as string, live('www-example-test'))).toMatch(/: OK$/);
    expect(opensslVerify(result.caRootFile as string, live('example-test'))).toMatch(/: OK$/);
  });

  it('--dry-run issues every certificate through the whole pipeline and stores nothing: the stores and pending keys unchanged', async () => {
    const certs = join(workdir, 'certs');
    const pendingKeys = join(workdir, 'state', 'pending-keys');
    const before = { certs: snapshotTree(certs), keys: snapshotTree(pendingKeys) };
    const { result, lines } = await run({ dryRun: true, force: true });
    const text = lines.join('\n');
    expect(result.exitCode).toBe(0);
    expect(result.summary).toMatchObject({ dryRun: true, issuedCount: 2, failedCount: 0 });
    expect(text).toContain(
      `DRY RUN  issued from ${result.summary?.directoryUrl}; nothing was stored, the stores are as they were`,
    );
    expect(text.match(/^ {2}stored: {3}nowhere \(dry run\)$/gm)).toHaveLength(2);
    // the CA really issued (FinalizeAndStore downloaded and checked a certificate for each)
    expect(text).toMatch(/FinalizeAndStore\s+ok .*serial [0-9a-f]+/);
    // nothing written: live/, archive/, metadata and the kept order keys are byte-for-byte the same
    expect(snapshotTree(certs)).toEqual(before.certs);
    expect(snapshotTree(pendingKeys)).toEqual(before.keys);
    expect(text).toContain('delegated zone: no TXT value of this run remains');
  });

  it('keeps private-key material out of every state input and output and every log line', () => {
    // every private key issued in these runs (the live ones and the previous versions kept in archive/)
    const archive = join(workdir, 'certs', 'archive');
    const keyFiles = readdirSync(archive).flatMap((name) =>
      readdirSync(join(archive, name)).map((version) => join(archive, name, version, 'privkey.pem')),
    );
    expect(keyFiles.length).toBeGreaterThanOrEqual(3);
    const secrets = keyFiles.flatMap((f) => keyMaterial(f));
    expect(secrets.length).toBeGreaterThan(0);
    let statesSeen = 0;
    for (const { result } of runs) {
      const history = JSON.parse(readFileSync(result.historyFile, 'utf8')) as {
        state?: { input?: unknown; output?: unknown };
      }[];
      for (const event of history) {
        if (!event.state) continue;
        statesSeen++;
        for (const value of [event.state.input, event.state.output]) {
          const text = JSON.stringify(value ?? null);
          expect(text).not.toMatch(/PRIVATE KEY/);
          for (const s of secrets) expect(text).not.toContain(s);
        }
      }
      const logs = readFileSync(join(result.runDirectory, 'handlers.log'), 'utf8');
      expect(logs.length).toBeGreaterThan(0);
      expect(logs).not.toMatch(/PRIVATE KEY/);
      for (const s of secrets) expect(logs).not.toContain(s);
    }
    expect(statesSeen).toBeGreaterThan(50);
  });
});
