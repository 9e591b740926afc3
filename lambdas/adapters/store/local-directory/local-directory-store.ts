/**
 * Certificate store on the local file system, in certbot's layout, so servers configured for
 * certbot (`ssl_certificate /etc/letsencrypt/live/<name>/fullchain.pem`) read it unchanged:
 *
 *     <dir>/live/<name>              -> symlink to ../archive/<name>/<version>
 *     <dir>/archive/<name>/<version>/cert.pem       leaf
 *                                   /chain.pem      intermediates
 *                                   /fullchain.pem  leaf + intermediates
 *                                   /privkey.pem    private key (0600)
 *                                   /metadata.json  CertificateMetadata (no key material)
 *
 * Replacement is atomic: a new version is written and fsynced under a temporary name, renamed
 * to its version number, and only then is `live/<name>` switched by `rename(2)`-ing a fresh
 * symlink over it. Readers that open `live/<name>/...` see either the old set or the new set,
 * never a mix of half-written files; a failure before that rename leaves the old set untouched.
 */

import { randomBytes } from 'node:crypto';
import { promises as nodeFs } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import * as z from 'zod/mini';
import '../../../core/zod-messages';
import {
  type CertificateFiles,
  certificateFileProblems,
  metadataFromCertificate,
} from '../../../core/certificate/consistency';
import { privateKeyMatchesCertificate } from '../../../core/certificate/inspect';
import { KEY_TYPES } from '../../../core/config/schema';
import { CertificateStoreError, errorText } from '../../../core/errors';
import type {
  CertificateMetadata,
  CertificateStore,
  IssuedCertificate,
  StoredCertificate,
  StoredLocation,
} from '../../../core/ports';
import { pseudoFilesystemMessage, pseudoFilesystemOf } from './store-path';

/** The file-system calls the store makes; injectable so tests can make a write fail mid-way. */
export type StoreFileSystem = Pick<
  typeof nodeFs,
  | 'mkdir'
  | 'open'
  | 'rename'
  | 'symlink'
  | 'readlink'
  | 'lstat'
  | 'stat'
  | 'readdir'
  | 'readFile'
  | 'rm'
  | 'chmod'
  | 'realpath'
>;

export interface LocalDirectoryStoreOptions {
  /**
   * The root directory (certbot's `/etc/letsencrypt` equivalent). Created when missing; refused
   * under /proc and /sys.
   */
  directory: string;
  /** How many versions before the current one to keep in `archive/<name>/` (default 2). */
  keepPrevious?: number;
  /** File-system implementation; defaults to `node:fs/promises`. */
  fs?: StoreFileSystem;
  /**
   * Root certificates (PEM blocks) a stored chain must lead to for the certificate to count as
   * healthy (`acme.trustAnchorsFile`, or a known public CA's roots); none: not checked.
   */
  trustAnchors?: string[];
}

/** Files of one version, with their modes. `privkey.pem` is readable by the owner only. */
const FILE_MODES = {
  cert: 0o644,
  chain: 0o644,
  fullchain: 0o644,
  privkey: 0o600,
  metadata: 0o644,
} as const;
const PRIVATE_DIR_MODE = 0o700;
const LIVE_DIR_MODE = 0o755;
/** Temporary directories older than this are left-overs of a crashed put and are removed. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** On a full file system, temporary directories older than this are removed too (another run's put lasts seconds). */
const PRESSURE_STALE_TEMP_MS = 60 * 1000;
const TEMP_PREFIX = '.tmp-';
const VERSION = /^[0-9]+$/;

const nonEmpty = () => z.string().check(z.minLength(1));
const metadataSchema = z.object({
  name: nonEmpty(),
  domains: z.array(nonEmpty()).check(z.minLength(1)),
  keyType: z.enum(KEY_TYPES),
  serial: nonEmpty(),
  issuer: z.string(),
  notBefore: z.iso.datetime({ offset: true }),
  notAfter: z.iso.datetime({ offset: true }),
  ariCertId: z.optional(nonEmpty()),
  storedAt: z.iso.datetime({ offset: true }),
});

/** {@link CertificateStore} over a local directory in certbot's `live/` + `archive/` layout. */
export class LocalDirectoryStore implements CertificateStore {
  readonly kind = 'local';
  private readonly root: string;
  private readonly keepPrevious: number;
  private readonly fs: StoreFileSystem;
  private readonly trustAnchors: string[] | undefined;

  /** @throws CertificateStoreError when the directory is under /proc or /sys. */
  constructor(options: LocalDirectoryStoreOptions) {
    this.root = resolve(options.directory);
    const pseudo = pseudoFilesystemOf(this.root);
    if (pseudo) throw new CertificateStoreError(`local store: ${pseudoFilesystemMessage(this.root, pseudo)}`);
    this.keepPrevious = options.keepPrevious ?? 2;
    this.fs = options.fs ?? nodeFs;
    this.trustAnchors = options.trustAnchors;
  }

  /** `<dir>/live/<name>`: where servers read the certificate. */
  liveDirectory(name: string): string {
    return join(this.root, 'live', checkName(name));
  }

  /** `<dir>/archive/<name>`: the stored versions. */
  archiveDirectory(name: string): string {
    return join(this.root, 'archive', checkName(name));
  }

  /**
   * What `live/<name>` holds, checked file by file: `absent` when there is no `live/<name>`;
   * `broken` (with the file and the OS error or mismatch) when a file is missing or unreadable,
   * `metadata.json` is corrupt or describes another certificate, the key is not the
   * certificate's, the chain did not issue it, or `fullchain.pem` is not cert + chain; else
   * `healthy`. Reads the private key only to compare it with the certificate; never reports it.
   * @throws CertificateStoreError when the store directory itself cannot be used (it lies under a
   *   regular file, is not a directory, cannot be searched); the message has the OS cause and path.
   */
  async current(name: string): Promise<StoredCertificate> {
    const live = this.liveDirectory(name);
    await this.checkRoot();
    let link: Awaited<ReturnType<StoreFileSystem['lstat']>>;
    try {
      link = await this.fs.lstat(live);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return { status: 'absent' };
      return { status: 'broken', problem: `cannot read ${live}: ${errorText(error)}` };
    }
    if (link.isSymbolicLink()) {
      try {
        await this.fs.stat(live);
      } catch (error) {
        if (isCode(error, 'ENOENT')) {
          const target = await this.fs.readlink(live).catch(() => '?');
          return { status: 'broken', problem: `${live} points to ${target}, which does not exist` };
        }
      }
    }
    const problems: string[] = [];
    const unreadable: { file: string; error: unknown }[] = [];
    const read = async (file: string): Promise<string | undefined> => {
      try {
        return await this.fs.readFile(join(live, file), 'utf8');
      } catch (error) {
        unreadable.push({ file, error });
        return undefined;
      }
    };
    const metadataText = await read('metadata.json');
    const files: Partial<CertificateFiles> = {
      certificatePem: await read('cert.pem'),
      chainPem: await read('chain.pem'),
      fullchainPem: await read('fullchain.pem'),
      privateKeyPem: await read('privkey.pem'),
    };
    problems.push(...describeUnreadable(unreadable));
    const metadata =
      metadataText === undefined ? undefined : this.parseMetadata(name, metadataText, problems);
    if (metadata && problems.length === 0) {
      problems.push(...certificateFileProblems(files as CertificateFiles, metadata, this.trustAnchors));
    }
    // What the record claims is read from cert.pem itself: a record edited (or written wrong)
    // neither delays a renewal nor shows false dates.
    const facts =
      metadata && files.certificatePem !== undefined
        ? metadataFromCertificate(files.certificatePem, metadata)
        : undefined;
    const described = facts ?? metadata;
    if (problems.length > 0) {
      return {
        status: 'broken',
        problem: `${live}: ${problems.join('; ')}`,
        ...(described ? { metadata: described } : {}),
      };
    }
    return { status: 'healthy', metadata: described as CertificateMetadata };
  }

  /** `metadata.json` as certificate metadata, or undefined with the reason added to `problems`. */
  private parseMetadata(name: string, text: string, problems: string[]): CertificateMetadata | undefined {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      problems.push(`metadata.json is not valid JSON (${errorText(error)})`);
      return undefined;
    }
    const parsed = metadataSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      problems.push(`metadata.json is not valid certificate metadata (${issues.join('; ')})`);
      return undefined;
    }
    if (parsed.data.name !== name) {
      problems.push(`metadata.json describes certificate "${parsed.data.name}", not "${name}"`);
      return undefined;
    }
    return parsed.data;
  }

  /** The store directory must be a directory, or not exist yet (put creates it). */
  private async checkRoot(): Promise<void> {
    let stats: Awaited<ReturnType<StoreFileSystem['stat']>>;
    try {
      stats = await this.fs.stat(this.root);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return;
      throw new CertificateStoreError(
        `local store: the directory ${this.root} cannot be used: ${errorText(error)}${await this.blockedBy(this.root)}`,
        { cause: error },
      );
    }
    if (!stats.isDirectory()) {
      throw new CertificateStoreError(
        `local store: ${this.root} is not a directory (ENOTDIR); point storage.localDirectory at a directory`,
      );
    }
  }

  /** ` (<ancestor> is a regular file)` when an ancestor of `path` exists and is not a directory. */
  private async blockedBy(path: string): Promise<string> {
    for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
      try {
        const stats = await this.fs.stat(dir);
        if (stats.isDirectory()) return '';
        return ` (${dir} is ${stats.isFile() ? 'a regular file' : 'not a directory'})`;
      } catch {
        // keep walking up
      }
    }
    return '';
  }

  /**
   * Store a new version and switch `live/<name>` to it atomically; keep the previous
   * {@link LocalDirectoryStoreOptions.keepPrevious} versions and delete older ones. When
   * `live/<name>` already holds this certificate (same serial in its metadata, same `cert.pem`,
   * and a `privkey.pem` that matches it), nothing is written: a repeated put stores once.
   * @throws CertificateStoreError when anything fails; `live/<name>` then still holds the previous set.
   */
  async put(certificate: IssuedCertificate): Promise<StoredLocation> {
    const { name } = certificate.metadata;
    const live = this.liveDirectory(name);
    const archive = this.archiveDirectory(name);
    if (!privateKeyMatchesCertificate(certificate.privateKeyPem, certificate.certificatePem)) {
      throw new CertificateStoreError(
        `the private key does not match the certificate for "${name}"; nothing was stored`,
      );
    }
    if (await this.holdsAlready(certificate)) return { store: this.kind, location: live };
    let step = 'preparing directories';
    let version: string | undefined;
    try {
      await this.ensureDirectory(join(this.root, 'live'), LIVE_DIR_MODE);
      await this.ensureDirectory(join(this.root, 'archive'), PRIVATE_DIR_MODE);
      await this.ensureDirectory(archive, PRIVATE_DIR_MODE);
      step = 'migrating the old live directory';
      await this.migrateRealDirectory(name);
      step = 'writing the new version';
      version = await this.writeVersionMakingRoom(name, archive, versionFiles(certificate));
      step = `switching ${live} to version ${version}`;
      await this.switchLive(name, version);
    } catch (error) {
      if (version !== undefined && (await this.liveVersion(name)) !== version) {
        await this.fs.rm(join(archive, version), { recursive: true, force: true }).catch(() => undefined);
      }
      throw new CertificateStoreError(
        `storing "${name}" in ${this.root} failed while ${step}: ${errorText(error)}; ${live} is unchanged`,
        { cause: error },
      );
    }
    // The new certificate is in place; pruning is housekeeping and is retried on the next put.
    await this.prune(name).catch(() => undefined);
    return { store: this.kind, location: live };
  }

  /**
   * {@link writeVersion}; when the file system is full (ENOSPC, EDQUOT), remove what the store
   * can spare (temporary left-overs of crashed puts, then every version older than the live one:
   * the live certificate stays) and try once more. The error names the file it could not write.
   */
  private async writeVersionMakingRoom(
    name: string,
    archive: string,
    files: [string, string | Buffer, number][],
  ): Promise<string> {
    try {
      return await this.writeVersion(archive, files);
    } catch (error) {
      if (!isCode(error, 'ENOSPC', 'EDQUOT')) throw error;
      const freed = await this.prune(name, { keepPrevious: 0, staleAfterMs: PRESSURE_STALE_TEMP_MS }).catch(
        () => [],
      );
      if (freed.length === 0) throw error;
      try {
        return await this.writeVersion(archive, files);
      } catch (again) {
        if (!isCode(again, 'ENOSPC', 'EDQUOT')) throw again;
        throw new CertificateStoreError(
          `${errorText(again)}, even after removing ${freed.length} older version(s) and left-over(s) (${freed.map((f) => basename(f)).join(', ')}) from ${archive}; free space on that file system`,
          { cause: again },
        );
      }
    }
  }

  /** Whether `live/<name>` is intact and holds exactly this certificate. Any read problem: no. */
  private async holdsAlready(certificate: IssuedCertificate): Promise<boolean> {
    const { name, serial } = certificate.metadata;
    const live = this.liveDirectory(name);
    try {
      const stored = await this.current(name);
      if (stored.status !== 'healthy' || stored.metadata.serial !== serial) return false;
      const certPem = await this.fs.readFile(join(live, 'cert.pem'), 'utf8');
      if (certPem.trim() !== certificate.certificatePem.trim()) return false;
      const keyPem = await this.fs.readFile(join(live, 'privkey.pem'), 'utf8');
      return privateKeyMatchesCertificate(keyPem, certPem);
    } catch {
      return false;
    }
  }

  /** The version number `live/<name>` points to, if it is a symlink into the archive. */
  private async liveVersion(name: string): Promise<string | undefined> {
    try {
      const target = basename(await this.fs.readlink(this.liveDirectory(name)));
      return VERSION.test(target) ? target : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Create `path` and its missing ancestors, one mkdir(2) at a time from the nearest existing
   * ancestor down, with `mode` (only directories created here are chmod-ed). Not Node's
   * `mkdir({ recursive: true })`: under /proc, mkdir answers ENOENT for a child of an existing
   * directory, and Node's recursive walk then retries parent and child forever at 100 % CPU. Here
   * an ENOENT after the parent was found or made is final, and names the path.
   */
  private async ensureDirectory(path: string, mode: number): Promise<void> {
    const missing: string[] = [];
    for (let dir = path; ; ) {
      let stats: Awaited<ReturnType<StoreFileSystem['stat']>> | undefined;
      try {
        stats = await this.fs.stat(dir);
      } catch (error) {
        if (!isCode(error, 'ENOENT') || dirname(dir) === dir) throw error;
      }
      if (stats) {
        if (!stats.isDirectory()) {
          throw new CertificateStoreError(`ENOTDIR: ${dir} exists and is not a directory; move it away`);
        }
        break;
      }
      missing.unshift(dir);
      dir = dirname(dir);
    }
    for (const dir of missing) {
      try {
        await this.fs.mkdir(dir, { mode });
      } catch (error) {
        if (isCode(error, 'EEXIST') && (await this.fs.stat(dir)).isDirectory()) continue; // made concurrently
        if (isCode(error, 'ENOENT')) {
          throw new CertificateStoreError(
            `cannot create ${dir}: ${errorText(error)}, although ${dirname(dir)} exists; its file system does not hold directories (a pseudo-filesystem such as /proc?)`,
            { cause: error },
          );
        }
        throw error;
      }
      await this.fs.chmod(dir, mode);
    }
  }

  /** Versions in `archive/<name>`, ascending. */
  private async versions(archive: string): Promise<number[]> {
    const entries = await this.fs.readdir(archive);
    return entries
      .filter((e) => VERSION.test(e))
      .map(Number)
      .sort((a, b) => a - b);
  }

  /**
   * Write `files` into a temporary directory (each file fsynced), fsync it, and rename it to the
   * next version number. Returns that version. The temporary directory is removed on failure.
   */
  private async writeVersion(archive: string, files: [string, string | Buffer, number][]): Promise<string> {
    const temp = join(archive, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    await this.fs.mkdir(temp, { mode: PRIVATE_DIR_MODE });
    try {
      await this.fs.chmod(temp, PRIVATE_DIR_MODE);
      for (const [file, content, mode] of files) {
        await this.writeDurably(join(temp, file), content, mode);
      }
      await this.syncDirectory(temp);
      const existing = await this.versions(archive);
      const version = String((existing[existing.length - 1] ?? 0) + 1);
      await this.fs.rename(temp, join(archive, version));
      await this.syncDirectory(archive);
      return version;
    } catch (error) {
      await this.fs.rm(temp, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
  }

  private async writeDurably(path: string, content: string | Buffer, mode: number): Promise<void> {
    const handle = await this.fs.open(path, 'wx', mode);
    try {
      await withPath(path, async () => {
        await handle.writeFile(content);
        await handle.chmod(mode);
        await handle.sync();
      });
    } finally {
      await handle.close();
    }
  }

  private async syncDirectory(path: string): Promise<void> {
    const handle = await this.fs.open(path, 'r');
    try {
      await withPath(path, () => handle.sync());
    } finally {
      await handle.close();
    }
  }

  /**
   * Point `live/<name>` at `archive/<name>/<version>` with one rename(2) of a new symlink. The
   * link is relative (as certbot's), from where `live/` really is to where the version really is:
   * when `live/` or `archive/` is itself a symlink (moved to another volume), a plain
   * `../archive/...` would resolve next to the real `live/` and dangle.
   */
  private async switchLive(name: string, version: string): Promise<void> {
    const liveRoot = join(this.root, 'live');
    const temp = join(liveRoot, `${TEMP_PREFIX}${name}-${process.pid}-${randomBytes(6).toString('hex')}`);
    const [realLive, realVersion] = await Promise.all([
      this.fs.realpath(liveRoot),
      this.fs.realpath(join(this.archiveDirectory(name), version)),
    ]);
    await this.fs.symlink(relative(realLive, realVersion), temp);
    try {
      await this.fs.rename(temp, join(liveRoot, name));
    } catch (error) {
      await this.fs.rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
    await this.syncDirectory(liveRoot);
  }

  /**
   * Older layout: `live/<name>` is a real directory (possibly of symlinks, as certbot makes).
   * Copy its files (dereferenced) into a new archive version, switch `live/<name>` to a symlink
   * to it, and remove the old directory. A symlink cannot be renamed over a directory, so readers
   * may find `live/<name>` missing for the instant between the two renames, once.
   */
  private async migrateRealDirectory(name: string): Promise<void> {
    const live = this.liveDirectory(name);
    let stats: Awaited<ReturnType<StoreFileSystem['lstat']>>;
    try {
      stats = await this.fs.lstat(live);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return;
      throw error;
    }
    if (stats.isSymbolicLink()) return;
    if (!stats.isDirectory()) {
      throw new CertificateStoreError(`${live} is neither a directory nor a symlink; move it away`);
    }
    const files: [string, Buffer, number][] = [];
    for (const entry of await this.fs.readdir(live)) {
      const path = join(live, entry);
      const entryStats = await this.fs.stat(path);
      if (!entryStats.isFile()) continue;
      const mode = entry === 'privkey.pem' ? FILE_MODES.privkey : entryStats.mode & 0o777;
      files.push([entry, await this.fs.readFile(path), mode]);
    }
    const archive = this.archiveDirectory(name);
    const version = await this.writeVersion(archive, files);
    // Set aside next to itself (same file system, whatever volume live/ is on), not in archive/.
    const old = join(dirname(live), `${TEMP_PREFIX}migrated-${name}-${randomBytes(6).toString('hex')}`);
    await this.fs.rename(live, old);
    try {
      await this.switchLive(name, version);
    } catch (error) {
      await this.fs.rename(old, live).catch(() => undefined);
      throw error;
    }
    await this.fs.rm(old, { recursive: true, force: true });
  }

  /**
   * Keep the live version, anything newer, and the `keepPrevious` versions before it; remove
   * temporary directories older than `staleAfterMs` (other than this process's own). Returns the
   * paths removed.
   */
  private async prune(
    name: string,
    limits: { keepPrevious: number; staleAfterMs: number } = {
      keepPrevious: this.keepPrevious,
      staleAfterMs: STALE_TEMP_MS,
    },
  ): Promise<string[]> {
    const archive = this.archiveDirectory(name);
    const removed: string[] = [];
    const live = await this.liveVersion(name);
    if (live !== undefined) {
      const current = Number(live);
      const older = (await this.versions(archive)).filter((v) => v < current);
      const doomed = older.slice(0, Math.max(0, older.length - limits.keepPrevious));
      for (const v of doomed) {
        await this.fs.rm(join(archive, String(v)), { recursive: true, force: true });
        removed.push(join(archive, String(v)));
      }
    }
    const own = `${TEMP_PREFIX}${process.pid}-`;
    for (const entry of await this.fs.readdir(archive)) {
      if (!entry.startsWith(TEMP_PREFIX) || entry.startsWith(own)) continue;
      const path = join(archive, entry);
      const stats = await this.fs.lstat(path);
      if (Date.now() - stats.mtimeMs >= limits.staleAfterMs) {
        await this.fs.rm(path, { recursive: true, force: true });
        removed.push(path);
      }
    }
    return removed;
  }
}

/** The files of one version; metadata.json is written from the known fields only. */
function versionFiles(certificate: IssuedCertificate): [string, string, number][] {
  const m = certificate.metadata;
  const metadata: CertificateMetadata = {
    name: m.name,
    domains: m.domains,
    keyType: m.keyType,
    serial: m.serial,
    issuer: m.issuer,
    notBefore: m.notBefore,
    notAfter: m.notAfter,
    ...(m.ariCertId === undefined ? {} : { ariCertId: m.ariCertId }),
    storedAt: m.storedAt,
  };
  return [
    ['cert.pem', withNewline(certificate.certificatePem), FILE_MODES.cert],
    ['chain.pem', withNewline(certificate.chainPem), FILE_MODES.chain],
    ['fullchain.pem', withNewline(certificate.fullchainPem), FILE_MODES.fullchain],
    ['privkey.pem', withNewline(certificate.privateKeyPem), FILE_MODES.privkey],
    ['metadata.json', `${JSON.stringify(metadata, null, 2)}\n`, FILE_MODES.metadata],
  ];
}

/**
 * `cannot read <file>: <OS error>` per file; files that failed with the same code share one line
 * (`cannot read cert.pem, privkey.pem: EACCES: ..., open '<first path>'`).
 */
function describeUnreadable(failures: { file: string; error: unknown }[]): string[] {
  const byCode = new Map<string, { files: string[]; error: unknown }>();
  for (const { file, error } of failures) {
    const code = String((error as { code?: unknown } | null)?.code ?? errorText(error));
    const group = byCode.get(code);
    if (group) group.files.push(file);
    else byCode.set(code, { files: [file], error });
  }
  return [...byCode.values()].map(
    ({ files, error }) => `cannot read ${files.join(', ')}: ${errorText(error)}`,
  );
}

function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** A certificate name becomes a path segment: refuse anything that could escape the directory. */
function checkName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(name)) {
    throw new CertificateStoreError(
      `"${name}" cannot name a certificate directory (letters, digits, ".", "_", "-"; not starting with ".")`,
    );
  }
  return name;
}

/**
 * Run `fn`; an OS error without a path (a write(2) or fsync(2) on an open file: `ENOSPC: no
 * space left on device, write`) gets the file's path added, so every store error names it.
 */
async function withPath<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') {
      const withoutPath = !(error as { path?: unknown }).path && !error.message.includes(path);
      if (withoutPath) {
        error.message = `${error.message} '${path}'`;
        (error as { path?: string }).path = path;
      }
    }
    throw error;
  }
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return (
    typeof error === 'object' && error !== null && codes.includes(String((error as { code?: unknown }).code))
  );
}
