import { execFileSync } from 'node:child_process';
import { promises as fsp, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
  openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-subj', '/CN=Another CA', '-days', '3'],
  );
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
    expect(await store.current('web')).toEqual({ status: 'absent' });

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
    expect(await store.current('web')).toEqual({ status: 'healthy', metadata: first.metadata });
    expect(await store.current('other')).toEqual({ status: 'absent' });
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
    expect(await store.current('web')).toEqual({ status: 'healthy', metadata: third.metadata });
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
    expect(await store.current('web')).toEqual({ status: 'healthy', metadata: first.metadata });
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
    // certbot keeps no metadata.json: the old set is not trusted as it is, so it is renewed
    expect(await store.current('web')).toMatchObject({
      status: 'broken',
      problem: expect.stringContaining(`cannot read metadata.json: ENOENT`),
    });
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

  it('reports a corrupt or foreign metadata.json as broken, naming the file, instead of failing', async () => {
    const store = new LocalDirectoryStore({ directory: dir });
    const [first] = leaves;
    if (!first) throw new Error('no test certificate');
    await store.put(first);
    const file = join(dir, 'archive', 'web', '1', 'metadata.json');
    const live = join(dir, 'live', 'web');
    await fsp.writeFile(file, '{"name": "web", ');
    expect(await store.current('web')).toEqual({
      status: 'broken',
      problem: expect.stringMatching(new RegExp(`^${live}: metadata.json is not valid JSON`)),
    });
    await fsp.writeFile(file, JSON.stringify({ ...first.metadata, notAfter: 'soon' }));
    expect(await store.current('web')).toMatchObject({
      status: 'broken',
      problem: expect.stringContaining('metadata.json is not valid certificate metadata (notAfter:'),
    });
    await fsp.writeFile(file, JSON.stringify({ ...first.metadata, name: 'api' }));
    expect(await store.current('web')).toMatchObject({
      status: 'broken',
      problem: expect.stringContaining('metadata.json describes certificate "api", not "web"'),
    });
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

describe('LocalDirectoryStore tells the truth about what is stored', () => {
  let dir: string;
  let store: LocalDirectoryStore;
  const live = () => join(dir, 'live', 'web');
  beforeEach(async () => {
    dir = tempStoreDir();
    store = new LocalDirectoryStore({ directory: dir });
    const [first] = leaves;
    if (!first) throw new Error('no test certificate');
    await store.put(first);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a deleted cert.pem makes it broken, naming the file and the OS error', async () => {
    await fsp.rm(join(live(), 'cert.pem'));
    const stored = await store.current('web');
    expect(stored).toMatchObject({ status: 'broken', metadata: leaves[0]?.metadata });
    expect(stored.status === 'broken' && stored.problem).toBe(
      `${live()}: cannot read cert.pem: ENOENT: no such file or directory, open '${join(live(), 'cert.pem')}'`,
    );
  });

  it('a garbage privkey.pem, or the key of another certificate, makes it broken without echoing the key', async () => {
    await fsp.writeFile(join(live(), 'privkey.pem'), 'garbage, not a key\n');
    expect(await store.current('web')).toMatchObject({
      status: 'broken',
      problem: `${live()}: privkey.pem is not a readable private key`,
    });
    await fsp.writeFile(join(live(), 'privkey.pem'), leaves[1]?.privateKeyPem ?? '');
    const stored = await store.current('web');
    expect(stored).toMatchObject({
      status: 'broken',
      problem: `${live()}: privkey.pem is not the key of cert.pem (another key)`,
    });
    expect(JSON.stringify(stored)).not.toContain('PRIVATE KEY');
  });

  it('a chain that did not issue the certificate, or a fullchain that is not cert + chain, makes it broken', async () => {
    const otherCa = readFileSync(join(pki, 'other-ca.pem'), 'utf8');
    await fsp.writeFile(join(live(), 'chain.pem'), otherCa);
    expect(await store.current('web')).toMatchObject({
      status: 'broken',
      problem: expect.stringContaining('cert.pem was not issued by chain.pem certificate 1 (CN=Another CA)'),
    });
    await fsp.writeFile(join(live(), 'chain.pem'), leaves[0]?.chainPem ?? '');
    await fsp.writeFile(join(live(), 'fullchain.pem'), leaves[1]?.fullchainPem ?? '');
    expect(await store.current('web')).toMatchObject({
      status: 'broken',
      problem: `${live()}: fullchain.pem is not cert.pem followed by chain.pem`,
    });
  });

  it('a record that describes another certificate than cert.pem makes it broken', async () => {
    const [first, second] = leaves;
    if (!first || !second) throw new Error('no test certificates');
    await fsp.writeFile(
      join(live(), 'metadata.json'),
      JSON.stringify({ ...second.metadata, domains: ['example.com'] }),
    );
    const stored = await store.current('web');
    expect(stored.status).toBe('broken');
    const problem = stored.status === 'broken' ? stored.problem : '';
    expect(problem).toContain(
      `the record says serial ${second.metadata.serial} but cert.pem has serial ${first.metadata.serial}`,
    );
    expect(problem).toContain('the record names example.com but cert.pem names example.com, www.example.com');
  });

  it('a live/<name> link to a removed version is broken; the next put repairs it', async () => {
    const [, second] = leaves;
    if (!second) throw new Error('no test certificate');
    await fsp.rm(join(dir, 'archive', 'web', '1'), { recursive: true });
    expect(await store.current('web')).toEqual({
      status: 'broken',
      problem: `${live()} points to ${join('..', 'archive', 'web', '1')}, which does not exist`,
    });
    await store.put(second);
    expect(await store.current('web')).toEqual({ status: 'healthy', metadata: second.metadata });
  });
});

describe('LocalDirectoryStore directory errors keep their OS cause', () => {
  let base: string;
  beforeEach(() => {
    base = tempStoreDir();
  });
  afterEach(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it('a store directory under a regular file: current() and put() name ENOTDIR and the paths', async () => {
    const blocker = join(base, 'blocker');
    writeFileSync(blocker, 'a regular file\n');
    const root = join(blocker, 'certs');
    const store = new LocalDirectoryStore({ directory: root });
    const reading: unknown = await store.current('web').catch((e: unknown) => e);
    expect(reading).toBeInstanceOf(CertificateStoreError);
    expect((reading as Error).message).toBe(
      `local store: the directory ${root} cannot be used: ENOTDIR: not a directory, stat '${root}' (${blocker} is a regular file)`,
    );
    const [first] = leaves;
    if (!first) throw new Error('no test certificate');
    const storing: unknown = await store.put(first).catch((e: unknown) => e);
    expect(storing).toBeInstanceOf(CertificateStoreError);
    expect((storing as Error).message).toBe(
      `storing "web" in ${root} failed while preparing directories: ENOTDIR: not a directory, stat '${join(root, 'live')}'; ${join(root, 'live', 'web')} is unchanged`,
    );
    expect(((storing as Error).cause as { code?: string }).code).toBe('ENOTDIR');
  });

  it('an archive/ that is a regular file fails put() with ENOTDIR and its path, leaving live/ alone', async () => {
    const [first, second] = leaves;
    if (!first || !second) throw new Error('no test certificates');
    const store = new LocalDirectoryStore({ directory: base });
    await store.put(first);
    const before = await snapshot(base);
    await fsp.rename(join(base, 'archive'), join(base, 'archive.moved'));
    writeFileSync(join(base, 'archive'), '');
    await expect(store.put(second)).rejects.toThrow(
      `failed while preparing directories: ENOTDIR: ${join(base, 'archive')} exists and is not a directory; move it away`,
    );
    await fsp.rm(join(base, 'archive'));
    await fsp.rename(join(base, 'archive.moved'), join(base, 'archive'));
    expect(await snapshot(base)).toEqual(before);
  });

  it('refuses /proc and /sys directories when constructed, naming the path', () => {
    for (const directory of ['/proc/certflow/certs', '/sys/kernel/certflow', '/proc']) {
      expect(() => new LocalDirectoryStore({ directory })).toThrow(
        `local store: ${directory} is under ${directory.startsWith('/proc') ? '/proc' : '/sys'}, a kernel pseudo-filesystem that cannot hold certificate files`,
      );
    }
  });

  it('fails at once, naming the path, where mkdir answers ENOENT under an existing directory (/proc through a symlink)', async () => {
    // Node's mkdir({recursive: true}) spins forever on this (ENOENT for the child, EEXIST for the parent).
    const link = join(base, 'proc-link');
    symlinkSync('/proc', link);
    const root = join(link, 'certflow-test', 'certs');
    const store = new LocalDirectoryStore({ directory: root });
    const [first] = leaves;
    if (!first) throw new Error('no test certificate');
    await expect(store.put(first)).rejects.toThrow(
      `cannot create ${join(link, 'certflow-test')}: ENOENT: no such file or directory, mkdir '${join(link, 'certflow-test')}', although ${link} exists`,
    );
  });
});
