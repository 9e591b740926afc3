import { execFileSync } from 'node:child_process';
import { promises as fsp, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LocalDirectoryStore,
  type StoreFileSystem,
} from '../../lambdas/adapters/store/local-directory/local-directory-store';
import { inspectCertificate } from '../../lambdas/core/certificate/inspect';
import { CertificateStoreError } from '../../lambdas/core/errors';
import type { IssuedCertificate } from '../../lambdas/core/ports';

const FILES = ['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem', 'metadata.json'];

let pki: string;
let leaves: IssuedCertificate[];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: pki, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A real leaf signed by a real intermediate, as a CA would return it. */
function issue(index: number, name = 'web'): IssuedCertificate {
  const p = `leaf${index}`;
  openssl(
    ...['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-keyout', `${p}.key`, '-out', `${p}.csr`, '-subj', `/CN=www${index}.example.com`],
  );
  openssl(
    ...['x509', '-req', '-in', `${p}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-days', '2'],
    ...['-extfile', 'leaf.ext', '-out', `${p}.pem`],
  );
  const cert = readFileSync(join(pki, `${p}.pem`), 'utf8');
  const chain = readFileSync(join(pki, 'ca.pem'), 'utf8');
  const facts = inspectCertificate(cert);
  return {
    metadata: {
      name,
      domains: facts.domains,
      keyType: 'ecdsa-p256',
      serial: facts.serial,
      issuer: facts.issuer,
      notBefore: facts.notBefore,
      notAfter: facts.notAfter,
      ariCertId: facts.ariCertId,
      storedAt: new Date(2026, 0, index + 1).toISOString(),
    },
    certificatePem: cert,
    chainPem: chain,
    fullchainPem: cert + chain,
    privateKeyPem: readFileSync(join(pki, `${p}.key`), 'utf8'),
  };
}

function tempStoreDir(): string {
  return mkdtempSync(join(tmpdir(), 'certflow-store-'));
}

async function snapshot(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const f of FILES) out[f] = await fsp.readFile(join(dir, 'live', 'web', f));
  return out;
}

async function mode(path: string): Promise<number> {
  return (await fsp.stat(path)).mode & 0o777;
}

/** The real file system, except that `fail(op, path)` may throw an injected error. */
function failingFs(fail: (op: string, path: string) => boolean): StoreFileSystem {
  const injected = (op: string, path: unknown): void => {
    if (fail(op, String(path))) {
      throw Object.assign(new Error(`ENOSPC: no space left on device, ${op} '${String(path)}'`), {
        code: 'ENOSPC',
      });
    }
  };
  return {
    ...fsp,
    open: async (path, flags, m) => {
      injected('open', path);
      return fsp.open(path, flags, m);
    },
    rename: async (from, to) => {
      injected('rename', to);
      return fsp.rename(from, to);
    },
  };
}

beforeAll(() => {
  pki = mkdtempSync(join(tmpdir(), 'certflow-store-pki-'));
  openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Store Test CA', '-days', '3'],
  );
  execFileSync('sh', ['-c', 'printf "subjectAltName=DNS:www.example.com,DNS:example.com\\n" > leaf.ext'], {
    cwd: pki,
  });
  leaves = [1, 2, 3, 4, 5, 6].map((i) => issue(i));
});

afterAll(() => {
  rmSync(pki, { recursive: true, force: true });
});

describe('LocalDirectoryStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempStoreDir();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes certbot's live/<name> layout with private modes and round-trips the metadata", async () => {
    const store = new LocalDirectoryStore({ directory: dir });
    const [first] = leaves;
    if (!first) throw new Error('no test certificate');
    expect(store.kind).toBe('local');
    expect(await store.current('web')).toBeUndefined();

    const location = await store.put(first);
    expect(location).toEqual({ store: 'local', location: join(dir, 'live', 'web') });

    const live = join(dir, 'live', 'web');
    expect((await fsp.lstat(live)).isSymbolicLink()).toBe(true);
    expect(await fsp.readlink(live)).toBe(join('..', 'archive', 'web', '1'));
    expect(await fsp.readFile(join(live, 'cert.pem'), 'utf8')).toBe(first.certificatePem);
    expect(await fsp.readFile(join(live, 'chain.pem'), 'utf8')).toBe(first.chainPem);
    expect(await fsp.readFile(join(live, 'fullchain.pem'), 'utf8')).toBe(first.fullchainPem);
    expect(await fsp.readFile(join(live, 'privkey.pem'), 'utf8')).toBe(first.privateKeyPem);

    expect(await mode(join(live, 'privkey.pem'))).toBe(0o600);
    expect(await mode(join(live, 'cert.pem'))).toBe(0o644);
    expect(await mode(join(dir, 'archive'))).toBe(0o700);
    expect(await mode(join(dir, 'archive', 'web'))).toBe(0o700);
    expect(await mode(join(dir, 'archive', 'web', '1'))).toBe(0o700);

    const metadataText = await fsp.readFile(join(live, 'metadata.json'), 'utf8');
    expect(metadataText).not.toContain('PRIVATE KEY');
    expect(JSON.parse(metadataText)).toEqual(first.metadata);
    expect(await store.current('web')).toEqual(first.metadata);
    expect(await store.current('other')).toBeUndefined();
  });

  it('replaces atomically: readers always see a complete set, and the previous version stays in archive', async () => {
    const store = new LocalDirectoryStore({ directory: dir });
    const [first, second, third] = leaves;
    if (!first || !second || !third) throw new Error('no test certificates');
    await store.put(first);
    const before = await snapshot(dir);

    const known = new Set([first, second, third].map((c) => c.fullchainPem));
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        const text = await fsp.readFile(join(dir, 'live', 'web', 'fullchain.pem'), 'utf8');
        expect(known.has(text)).toBe(true);
        reads += 1;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await store.put(second);
    await store.put(third);
    reading = false;
    await reader;
    expect(reads).toBeGreaterThan(0);

    expect(await fsp.readlink(join(dir, 'live', 'web'))).toBe(join('..', 'archive', 'web', '3'));
    expect((await store.current('web'))?.serial).toBe(third.metadata.serial);
    // The first version is still there, byte for byte.
    for (const f of FILES) {
      expect(await fsp.readFile(join(dir, 'archive', 'web', '1', f))).toEqual(before[f]);
    }
  });

  it('leaves the old files byte-for-byte unchanged when a write fails mid-way', async () => {
    const [first, second] = leaves;
    if (!first || !second) throw new Error('no test certificates');
    await new LocalDirectoryStore({ directory: dir }).put(first);
    const before = await snapshot(dir);

    // The disk fills up after cert.pem of the new version was written.
    const store = new LocalDirectoryStore({
      directory: dir,
      fs: failingFs((op, path) => op === 'open' && path.endsWith('/chain.pem')),
    });
    const failure = store.put(second);
    await expect(failure).rejects.toThrow(CertificateStoreError);
    await expect(failure).rejects.toThrow(/unchanged/);
    const error: unknown = await failure.catch((e: unknown) => e);
    const everything = JSON.stringify(error, Object.getOwnPropertyNames(error)) + String(error);
    expect(everything).not.toContain('PRIVATE KEY');
    expect(String((error as Error).cause)).toContain('ENOSPC');

    expect(await snapshot(dir)).toEqual(before);
    expect(await store.current('web')).toEqual(first.metadata);
    // No half-written version is left behind.
    expect(await fsp.readdir(join(dir, 'archive', 'web'))).toEqual(['1']);
  });

  it('leaves the old files unchanged when switching the live link fails', async () => {
    const [first, second] = leaves;
    if (!first || !second) throw new Error('no test certificates');
    await new LocalDirectoryStore({ directory: dir }).put(first);
    const before = await snapshot(dir);

    const store = new LocalDirectoryStore({
      directory: dir,
      fs: failingFs((op, path) => op === 'rename' && path === join(dir, 'live', 'web')),
    });
    await expect(store.put(second)).rejects.toThrow(/switching .* to version 2/);
    expect(await snapshot(dir)).toEqual(before);
    expect(await fsp.readdir(join(dir, 'archive', 'web'))).toEqual(['1']);
    expect((await fsp.readdir(join(dir, 'live'))).sort()).toEqual(['web']);

    // The next put works normally.
    await new LocalDirectoryStore({ directory: dir }).put(second);
    expect((await fsp.readFile(join(dir, 'live', 'web', 'cert.pem'), 'utf8')) === second.certificatePem).toBe(
      true,
    );
  });

  it('keeps the current version and the previous two, deleting older ones', async () => {
    const store = new LocalDirectoryStore({ directory: dir });
    for (const leaf of leaves.slice(0, 5)) await store.put(leaf);
    expect((await fsp.readdir(join(dir, 'archive', 'web'))).sort()).toEqual(['3', '4', '5']);
    expect(await fsp.readlink(join(dir, 'live', 'web'))).toBe(join('..', 'archive', 'web', '5'));
    expect(await fsp.readFile(join(dir, 'archive', 'web', '4', 'cert.pem'), 'utf8')).toBe(
      leaves[3]?.certificatePem,
    );
  });

  it('migrates a live/<name> that is a real directory (older layout, certbot symlinks) into the archive', async () => {
    const [first, second] = leaves;
    if (!first || !second) throw new Error('no test certificates');
    // certbot: live/web/*.pem are symlinks to ../../archive/web/*1.pem
    await fsp.mkdir(join(dir, 'archive', 'web'), { recursive: true });
    await fsp.mkdir(join(dir, 'live', 'web'), { recursive: true });
    const old: Record<string, string> = {
      'cert.pem': first.certificatePem,
      'chain.pem': first.chainPem,
      'fullchain.pem': first.fullchainPem,
      'privkey.pem': first.privateKeyPem,
    };
    for (const [file, content] of Object.entries(old)) {
      const archived = file.replace('.pem', '1.pem');
      await fsp.writeFile(join(dir, 'archive', 'web', archived), content, { mode: 0o644 });
      await fsp.symlink(join('..', '..', 'archive', 'web', archived), join(dir, 'live', 'web', file));
    }
    await fsp.writeFile(join(dir, 'live', 'web', 'README'), 'certbot readme\n');

    const store = new LocalDirectoryStore({ directory: dir });
    expect(await store.current('web')).toBeUndefined();
    await store.put(second);

    expect((await fsp.lstat(join(dir, 'live', 'web'))).isSymbolicLink()).toBe(true);
    expect(await fsp.readFile(join(dir, 'live', 'web', 'cert.pem'), 'utf8')).toBe(second.certificatePem);
    const migrated = join(dir, 'archive', 'web', '1');
    for (const [file, content] of Object.entries(old)) {
      expect(await fsp.readFile(join(migrated, file), 'utf8')).toBe(content);
      expect((await fsp.lstat(join(migrated, file))).isFile()).toBe(true);
    }
    expect(await mode(join(migrated, 'privkey.pem'))).toBe(0o600);
    expect(await fsp.readFile(join(migrated, 'README'), 'utf8')).toBe('certbot readme\n');
  });

  it('names the corrupt metadata file', async () => {
    const store = new LocalDirectoryStore({ directory: dir });
    const [first] = leaves;
    if (!first) throw new Error('no test certificate');
    await store.put(first);
    const file = join(dir, 'archive', 'web', '1', 'metadata.json');
    await fsp.writeFile(file, '{"name": "web", ');
    await expect(store.current('web')).rejects.toThrow(CertificateStoreError);
    await expect(store.current('web')).rejects.toThrow(join(dir, 'live', 'web', 'metadata.json'));
    await fsp.writeFile(file, JSON.stringify({ ...first.metadata, notAfter: 'soon' }));
    await expect(store.current('web')).rejects.toThrow(/notAfter/);
  });

  it('refuses a private key that does not belong to the certificate, storing nothing', async () => {
    const store = new LocalDirectoryStore({ directory: dir });
    const [first, second] = leaves;
    if (!first || !second) throw new Error('no test certificates');
    const mismatched = { ...first, privateKeyPem: second.privateKeyPem };
    const error: unknown = await store.put(mismatched).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CertificateStoreError);
    expect(String(error)).not.toContain('PRIVATE KEY');
    await expect(fsp.stat(join(dir, 'live', 'web'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses names that would escape the directory', async () => {
    const store = new LocalDirectoryStore({ directory: dir });
    const [first] = leaves;
    if (!first) throw new Error('no test certificate');
    for (const name of ['../etc', '.hidden', 'a/b', '']) {
      await expect(store.put({ ...first, metadata: { ...first.metadata, name } })).rejects.toThrow(
        CertificateStoreError,
      );
      await expect(store.current(name)).rejects.toThrow(CertificateStoreError);
    }
  });
});
