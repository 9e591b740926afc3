/**
 * Checks of the local store's directory (`storage.localDirectory`) that need no write: used by
 * `certflow validate` before a run, and by the store itself to refuse kernel pseudo-filesystems.
 */
import { accessSync, constants, realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CertflowConfig } from '../../../core/config/schema';
import { type ConfigProblem, errorText } from '../../../core/errors';

/** Kernel pseudo-filesystems: they cannot hold files, and Node's recursive mkdir spins forever under /proc. */
const PSEUDO_FILESYSTEMS = ['/proc', '/sys'] as const;

const FIELD = 'storage.localDirectory';

/** `/proc` or `/sys` when `path` (made absolute, not following symlinks) lies under one of them. */
export function pseudoFilesystemOf(path: string): string | undefined {
  const absolute = resolve(path);
  return PSEUDO_FILESYSTEMS.find((root) => absolute === root || absolute.startsWith(`${root}/`));
}

/** The message for a store directory under a kernel pseudo-filesystem. */
export function pseudoFilesystemMessage(directory: string, filesystem: string, via?: string): string {
  return `${directory}${via ? ` (which resolves to ${via})` : ''} is under ${filesystem}, a kernel pseudo-filesystem that cannot hold certificate files; choose a directory on a disk, such as /etc/letsencrypt or /var/lib/certflow`;
}

/**
 * Every problem that would make the local store fail, found without creating or changing
 * anything: the directory must be a directory (or be creatable: its nearest existing ancestor is
 * a directory this user can write to), must not be under /proc or /sys (also through symlinks),
 * must not lie under a regular file, and it and its `live/` and `archive/` must be writable.
 * Empty when `storage.localDirectory` is not set.
 */
export function localStoreProblems(config: CertflowConfig): ConfigProblem[] {
  const configured = config.storage.localDirectory;
  if (!configured) return [];
  const root = resolve(configured);
  const problem = (message: string): ConfigProblem[] => [{ path: FIELD, message }];
  const pseudo = pseudoFilesystemOf(root);
  if (pseudo) return problem(pseudoFilesystemMessage(root, pseudo));

  // The nearest existing entry: the directory itself or an ancestor.
  let existing = root;
  let stats: Stats;
  for (;;) {
    try {
      stats = statSync(existing);
      break;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const parent = dirname(existing);
      // ENOTDIR: an ancestor is not a directory; keep walking up to name it.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && parent !== existing) {
        existing = parent;
        continue;
      }
      return problem(`${root} cannot be examined: ${errorText(error)}`);
    }
  }
  if (!stats.isDirectory()) {
    const what = stats.isFile() ? 'a regular file' : 'not a directory';
    return problem(
      existing === root
        ? `${root} is ${what}; point storage.localDirectory at a directory`
        : `${root} cannot be created: ${existing} is ${what} (ENOTDIR); point storage.localDirectory elsewhere or move ${existing} away`,
    );
  }
  const real = realpathSync(existing);
  const pseudoReal = pseudoFilesystemOf(real);
  if (pseudoReal) return problem(pseudoFilesystemMessage(root, pseudoReal, real));

  if (existing !== root) return writable(existing, `${root} cannot be created`).flatMap(problem);
  const problems: string[] = [...writable(root, `${root} cannot hold new certificates`)];
  for (const sub of ['live', 'archive']) {
    const path = join(root, sub);
    let subStats: Stats;
    try {
      subStats = statSync(path);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') continue;
      problems.push(`${path} cannot be examined: ${errorText(error)}`);
      continue;
    }
    if (!subStats.isDirectory()) {
      problems.push(`${path} is not a directory (ENOTDIR); move it away`);
      continue;
    }
    problems.push(...writable(path, `${path} cannot hold new certificates`));
  }
  return problems.flatMap(problem);
}

/** access(2) W_OK|X_OK: as root it passes except on a read-only file system (EROFS). */
function writable(directory: string, consequence: string): string[] {
  try {
    accessSync(directory, constants.W_OK | constants.X_OK);
    return [];
  } catch (error) {
    const uid = typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : '';
    return [`${consequence}: ${directory} is not writable by this user${uid}: ${errorText(error)}`];
  }
}
