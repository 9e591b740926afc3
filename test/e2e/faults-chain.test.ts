import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { statusCommand } from '../../cli/status';
import { EXIT_CODES } from '../../local/run-local';
import { type AcmeProxy, startAcmeProxy } from '../support/acme-proxy';
import { opensslVerify, serialOf, snapshotTree } from '../support/certificates';
import {
  type FaultServers,
  pendingValues,
  runInProcess,
  startFaultServers,
  verifyLive,
  writeConfig,
  zoneValues,
} from '../support/fault-harness';
import { createTestPki, type TestPki } from '../support/test-pki';

/**
 * A stored certificate is a whole certificate, end to end against a real Pebble and BIND, with a
 * TLS proxy in front of Pebble that rewrites the certificate download (RFC 8555 §7.4.2) with a
 * consistent Content-Length: an answer cut short, a leaf without its chain, the right leaf with
 * another CA's certificate as chain. None is stored: the run fails the certificate naming the
 * check, keeps the CA's answer in the state directory, and the previous certificate stays and
 * verifies. Then the stores that survive real file systems: a symlinked live/ or archive/, a
 * full store; and a record edited by hand.
 */
describe('a stored certificate is a whole certificate', () => {
  let s: FaultServers;
  let proxy: AcmeProxy | undefined;
  let pki: TestPki;
  const WWW = { name: 'www', domains: ['www.example.test'] };
  const live = () => join(s.workdir, 'certs', 'live', 'www');
  const isDownload = (method: string, path: string) => method === 'POST' && path.startsWith('/certZ/');
  const direct = () => join(s.workdir, 'direct.json');

  beforeAll(async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-faults-chain-' });
    pki = createTestPki();
    writeConfig(s, 'direct', { certificates: [WWW] });
    const first = await runInProcess(s, direct());
    expect(first.result.exitCode).toBe(EXIT_CODES.ok);
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    await s?.stop();
    pki?.cleanup();
  });

  /** A config whose certificate download comes back rewritten by `rewrite`. */
  const rewriting = async (label: string, rewrite: (pem: string) => string) => {
    proxy = await startAcmeProxy({
      upstreamPort: s.pebble.port,
      upstreamCaFile: s.pebble.caBundleFile,
      directory: s.workdir,
      rule: (method, path) =>
        isDownload(method, path)
          ? {
              rewrite: (body, status) =>
                status === 200 ? Buffer.from(rewrite(body.toString('utf8'))) : body,
            }
          : 'pass',
    });
    return writeConfig(s, label, {
      certificates: [WWW],
      directory: proxy.directoryUrl,
      caBundleFile: proxy.caBundleFile,
    });
  };
  const rejectedAnswers = () => {
    const dir = join(s.workdir, 'state', 'rejected');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pem')) : [];
  };

  /** The four things: exit code and words are the caller's; here, the previous certificate and the next run. */
  const expectRefused = async (
    label: string,
    rewrite: (pem: string) => string,
    words: RegExp,
  ): Promise<string> => {
    const before = snapshotTree(live());
    const kept = rejectedAnswers().length;
    const run = await runInProcess(s, await rewriting(label, rewrite), { force: true });
    expect(proxy?.requests.some((r) => isDownload(r.method, r.path))).toBe(true);
    expect(run.result.exitCode).toBe(EXIT_CODES.failed);
    expect(run.text).toMatch(/FAILED\s+www/);
    expect(run.text).not.toMatch(/ISSUED\s+www/);
    expect(run.text).toContain('CertificateChainError');
    expect(run.text).toMatch(words);
    // Nothing was stored: the previous certificate is byte for byte what it was, and verifies.
    expect(snapshotTree(live())).toEqual(before);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    // The CA's answer is kept for inspection, and it holds no key.
    const answers = rejectedAnswers();
    expect(answers).toHaveLength(kept + 1);
    const answer = readFileSync(
      join(s.workdir, 'state', 'rejected', answers[answers.length - 1] as string),
      'utf8',
    );
    expect(answer).not.toMatch(/PRIVATE KEY/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
    // One more run, straight to Pebble: the previous certificate is healthy, nothing to do.
    const next = await runInProcess(s, direct());
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    expect(next.text).toMatch(/NOT DUE {2}www: valid until/);
    expect(snapshotTree(live())).toEqual(before);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
    return answer;
  };

  it('an answer cut short inside the chain (a consistent Content-Length) is not stored: the unfinished block is named', async () => {
    const answer = await expectRefused(
      'cut-short',
      (pem) => pem.slice(0, pem.lastIndexOf('-----END CERTIFICATE-----') - 40),
      /format: the CA's answer: unfinished PEM certificate block/,
    );
    expect(answer).toMatch(/-----BEGIN CERTIFICATE-----/);
    expect(answer).not.toMatch(/-----END CERTIFICATE-----\s*$/);
  });

  it('an answer that carries the leaf only is not stored: the empty chain is named', async () => {
    const leafOnly = (pem: string) => pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 26);
    await expectRefused('leaf-only', leafOnly, /chain: the CA's chain is empty/);
  });

  it("the right leaf with another CA's certificate as chain does not replace a good certificate: the failed signature is named", async () => {
    const stranger = pki.issue('stranger', ['stranger.example.test']).chainPem;
    const wrongChain = (pem: string) =>
      `${pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 26)}${stranger}`;
    await expectRefused(
      'wrong-chain',
      wrongChain,
      /signature: the CA's certificate was not issued by the CA's chain certificate 1 \(CN=certflow test CA\)/,
    );
  });

  it('a chain that leads to none of the configured trust anchors is not stored: the trust check is named', async () => {
    const anchors = join(s.workdir, 'other-anchors.pem');
    writeFileSync(anchors, pki.issue('anchor', ['anchor.example.test']).chainPem);
    const file = writeConfig(s, 'other-anchors', { certificates: [WWW] });
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    raw.acme.trustAnchorsFile = anchors;
    writeFileSync(file, JSON.stringify(raw));
    const before = snapshotTree(live());
    const run = await runInProcess(s, file, { force: true });
    expect(run.result.exitCode).toBe(EXIT_CODES.failed);
    expect(run.text).toMatch(/FAILED\s+www/);
    expect(run.text).toMatch(/trust: the CA's chain does not lead to a trusted root/);
    expect(snapshotTree(live())).toEqual(before);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);

    // With Pebble's own root as the anchor, the same run issues (and the store's check agrees).
    writeFileSync(anchors, await s.pebble.rootCertificatePem());
    const good = await runInProcess(s, file, { force: true });
    expect(good.result.exitCode).toBe(EXIT_CODES.ok);
    expect(good.text).toMatch(/ISSUED\s+www/);
    const next = await runInProcess(s, file);
    expect(next.text).toMatch(/NOT DUE {2}www: valid until/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });

  it('an edited metadata.json (notBefore moved later, which would delay renewal; notAfter moved too) is caught from cert.pem: status shows the certificate’s own dates, and the run re-issues with the reason', async () => {
    const metadataFile = join(live(), 'metadata.json');
    const record = JSON.parse(readFileSync(metadataFile, 'utf8'));
    const real = { notBefore: record.notBefore, notAfter: record.notAfter };
    record.notAfter = new Date(Date.parse(real.notAfter) + 30 * 86_400_000).toISOString();
    record.notBefore = new Date(Date.parse(record.notAfter) - 3_600_000).toISOString();
    writeFileSync(metadataFile, JSON.stringify(record, null, 2));

    const lines: string[] = [];
    const code = await statusCommand(
      { config: direct(), workdir: s.workdir, all: true },
      { out: (l) => lines.push(l), err: (l) => lines.push(l) },
    );
    const text = lines.join('\n');
    expect(code).toBe(1);
    const row = lines.find((l) => l.startsWith('www ')) as string;
    expect(row.split(/ {2,}/)[1]).toBe('BROKEN');
    // NOT AFTER is the certificate's; the record's false date appears only where the problem names it.
    expect(row.split(/ {2,}/)[3]).toBe(real.notAfter);
    expect(text.split(record.notAfter).length - 1).toBe(text.split('the record says notAfter').length - 1);
    expect(text).toContain(
      `the record says notBefore ${record.notBefore} but cert.pem says ${real.notBefore}`,
    );

    const serial = serialOf(join(live(), 'cert.pem'));
    const run = await runInProcess(s, direct());
    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(run.text).toMatch(/ISSUED\s+www/);
    // The report keeps the end of the reason; the handler log has it whole.
    expect(run.text).toMatch(/due: +stored certificate is broken \(.*but cert\.pem says /);
    expect(readFileSync(join(run.result.runDirectory, 'handlers.log'), 'utf8')).toContain(
      `the record says notBefore ${record.notBefore} but cert.pem says ${real.notBefore}`,
    );
    expect(serialOf(join(live(), 'cert.pem'))).not.toBe(serial);
    expect(await verifyLive(s, 'www')).toMatch(/: OK$/);
    const next = await runInProcess(s, direct());
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    expect(next.text).toMatch(/NOT DUE {2}www: valid until/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });

  describe.each([
    ['live/', 'live'],
    ['archive/', 'archive'],
    ['live/ and archive/', 'both'],
  ])('a store whose %s links to another directory (moved to another volume)', (_label, which) => {
    it('issues into it with links that resolve, renews keeping the previous version, and the next run finds it healthy', async () => {
      const store = join(s.workdir, `linked-${which}`);
      const volume = join(s.workdir, `volume-${which}`);
      mkdirSync(store, { recursive: true });
      for (const sub of ['live', 'archive']) {
        if (which !== 'both' && which !== sub) continue;
        mkdirSync(join(volume, sub), { recursive: true });
        symlinkSync(join(volume, sub), join(store, sub));
      }
      const file = writeConfig(s, `linked-${which}`, { certificates: [WWW], storeDirectory: store });
      const liveDir = join(store, 'live', 'www');
      const first = await runInProcess(s, file);
      expect(first.result.exitCode).toBe(EXIT_CODES.ok);
      expect(first.text).toMatch(/ISSUED\s+www/);
      const firstSerial = serialOf(join(liveDir, 'cert.pem'));

      const renewed = await runInProcess(s, file, { force: true });
      expect(renewed.result.exitCode).toBe(EXIT_CODES.ok);
      expect(renewed.text).toMatch(/ISSUED\s+www/);
      expect(serialOf(join(liveDir, 'cert.pem'))).not.toBe(firstSerial);
      // The previous version is still in the archive, whole.
      expect(serialOf(join(store, 'archive', 'www', '1', 'cert.pem'))).toBe(firstSerial);

      const next = await runInProcess(s, file);
      expect(next.result.exitCode).toBe(EXIT_CODES.ok);
      expect(next.text).toMatch(/NOT DUE {2}www: valid until/);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(s.workdir)).toEqual([]);
    });
  });

  it('a live/ moved to another directory after issuing (its files copied there, then linked): the next run keeps serving it, links resolve', async () => {
    const store = join(s.workdir, 'moved');
    const file = writeConfig(s, 'moved', { certificates: [WWW], storeDirectory: store });
    expect((await runInProcess(s, file)).result.exitCode).toBe(EXIT_CODES.ok);
    // As people do: copy the certificates (dereferenced) to another volume and link live/ there.
    const volume = join(s.workdir, 'moved-volume');
    mkdirSync(volume, { recursive: true });
    execFileSync('cp', ['-rL', join(store, 'live'), join(volume, 'live')]);
    renameSync(join(store, 'live'), join(store, 'live.old'));
    symlinkSync(join(volume, 'live'), join(store, 'live'));
    rmSync(join(store, 'live.old'), { recursive: true });
    const serial = serialOf(join(store, 'live', 'www', 'cert.pem'));

    const run = await runInProcess(s, file, { force: true });
    expect(run.result.exitCode).toBe(EXIT_CODES.ok);
    expect(run.text).toMatch(/ISSUED\s+www/);
    expect(serialOf(join(store, 'live', 'www', 'cert.pem'))).not.toBe(serial);
    const next = await runInProcess(s, file);
    expect(next.result.exitCode).toBe(EXIT_CODES.ok);
    expect(next.text).toMatch(/NOT DUE {2}www: valid until/);
    expect(await zoneValues(s.bind)).toEqual([]);
    expect(pendingValues(s.workdir)).toEqual([]);
  });

  describe('a full store (a 512 KiB tmpfs)', () => {
    const mountPoint = () => join(s.workdir, 'full');
    const filler = () => join(mountPoint(), 'filler');
    const versions = () =>
      readdirSync(join(mountPoint(), 'archive', 'www'))
        .filter((v) => /^\d+$/.test(v))
        .map(Number)
        .sort((a, b) => a - b);
    /** Fill the file system up to the last byte. */
    const fill = () => {
      const chunk = Buffer.alloc(4096, 1);
      for (;;) {
        try {
          appendFileSync(filler(), chunk);
        } catch {
          return;
        }
      }
    };
    let file: string;
    const verifyAt = async (liveDir: string) => {
      const root = join(s.workdir, 'pebble-root.pem');
      writeFileSync(root, await s.pebble.rootCertificatePem());
      return opensslVerify(root, liveDir);
    };

    beforeAll(() => {
      mkdirSync(mountPoint(), { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mountPoint()]);
      file = writeConfig(s, 'full', { certificates: [WWW], storeDirectory: mountPoint() });
    });
    afterAll(() => {
      execFileSync('umount', [mountPoint()]);
    });

    it('prunes old archived versions to make room, then stores; the certificate verifies', async () => {
      for (let i = 0; i < 3; i += 1) {
        expect((await runInProcess(s, file, { force: true })).result.exitCode).toBe(EXIT_CODES.ok);
      }
      expect(versions()).toEqual([1, 2, 3]);
      fill();
      const run = await runInProcess(s, file, { force: true });
      expect(run.result.exitCode).toBe(EXIT_CODES.ok);
      expect(run.text).toMatch(/ISSUED\s+www/);
      // Versions 1 and 2 made room; 3 (the one live before) stays as the previous version.
      expect(versions()).toEqual([3, 4]);
      expect(await verifyAt(join(mountPoint(), 'live', 'www'))).toMatch(/: OK$/);
    });

    it('gives up when nothing is left to prune: FAILED with ENOSPC and the file, the previous certificate stays and verifies, and the next run issues', async () => {
      // Nothing left to prune: only the live version in the archive, and the disk full.
      rmSync(filler(), { force: true });
      const liveVersion = readlinkSync(join(mountPoint(), 'live', 'www'))
        .split('/')
        .pop();
      for (const v of versions()) {
        if (String(v) !== liveVersion)
          rmSync(join(mountPoint(), 'archive', 'www', String(v)), { recursive: true });
      }
      fill();
      const before = snapshotTree(join(mountPoint(), 'live', 'www'));
      const run = await runInProcess(s, file, { force: true });
      expect(run.result.exitCode).toBe(EXIT_CODES.failed);
      expect(run.text).toMatch(/FAILED\s+www/);
      expect(run.text).toMatch(/ENOSPC: no space left on device, \w+ '[^']*\/archive\/www\/[^']*'/);
      expect(snapshotTree(join(mountPoint(), 'live', 'www'))).toEqual(before);
      expect(await verifyAt(join(mountPoint(), 'live', 'www'))).toMatch(/: OK$/);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(s.workdir)).toEqual([]);

      rmSync(filler(), { force: true });
      const next = await runInProcess(s, file);
      expect(next.result.exitCode).toBe(EXIT_CODES.ok);
      expect(next.text).toMatch(/NOT DUE {2}www: valid until/);
      expect(await zoneValues(s.bind)).toEqual([]);
      expect(pendingValues(s.workdir)).toEqual([]);
    });
  });
});
