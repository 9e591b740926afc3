import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { CertflowConfig } from './schema';

/**
 * The largest file the configuration may name (a TSIG key file, a CA bundle). A TSIG key file is
 * a few hundred bytes and a CA bundle of every public root ~220 KB is not what `caBundleFile` is
 * for (it adds a private root or two), so 64 KiB is generous for both and keeps a wrong path
 * (a disk image, a log) from being read whole.
 */
export const CONFIG_FILE_MAX_BYTES = 64 * 1024;

/** Why a file the configuration names cannot be used; `field` is the config field that names it. */
export class ConfigFileProblem extends Error {
  override readonly name = 'ConfigFileProblem';
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What `stat` says a non-regular file is, in the words an operator knows. */
function kindOf(stat: ReturnType<typeof fstatSync>): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Read a file the configuration names, as text: a regular file (symbolic links followed) of at
 * most {@link CONFIG_FILE_MAX_BYTES}. It is opened without blocking (a FIFO with no writer does
 * not hang the open) and checked on the open descriptor before a byte is read, so a device
 * (`/dev/zero`), a pipe or a huge file is refused at once, never read.
 *
 * @throws ConfigFileProblem naming `field`, the path, what is wrong and the fix (never the content).
 */
export function readConfigFile(path: string, field: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigFileProblem(field, `cannot read "${path}" (${code}); create it or fix the path`, {
      cause: error,
    });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new ConfigFileProblem(
        field,
        `"${path}" is ${kindOf(stat)}, not a regular file; point ${field} at the file itself`,
      );
    }
    if (stat.size > CONFIG_FILE_MAX_BYTES) {
      throw new ConfigFileProblem(
        field,
        `"${path}" is ${stat.size} bytes, more than the ${CONFIG_FILE_MAX_BYTES} bytes (64 KiB) such a file can be; point ${field} at the right file`,
      );
    }
    // One byte more than the limit: a file that grew since fstat is still refused.
    const buffer = Buffer.alloc(CONFIG_FILE_MAX_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > CONFIG_FILE_MAX_BYTES) {
        throw new ConfigFileProblem(
          field,
          `"${path}" is more than the ${CONFIG_FILE_MAX_BYTES} bytes (64 KiB) such a file can be; point ${field} at the right file`,
        );
      }
    }
    return buffer.subarray(0, length).toString('utf8');
  } catch (error) {
    if (error instanceof ConfigFileProblem) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new ConfigFileProblem(field, `cannot read "${path}" (${code}); fix the file or the path`, {
      cause: error,
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * The files the configuration names, each checked as {@link readConfigFile} reads it (kind,
 * size, readable), except the TSIG key file, which the TSIG check reads through it. For
 * `certflow validate` and `certflow local` before anything starts.
 */
export function configFileProblems(config: CertflowConfig): { path: string; message: string }[] {
  const files: [string, string | undefined][] = [
    ['acme.caBundleFile', config.acme.caBundleFile],
    ['acme.trustAnchorsFile', config.acme.trustAnchorsFile],
  ];
  const problems: { path: string; message: string }[] = [];
  for (const [field, file] of files) {
    if (file === undefined) continue;
    try {
      readConfigFile(file, field);
    } catch (error) {
      if (!(error instanceof ConfigFileProblem)) throw error;
      problems.push({ path: field, message: error.message });
    }
  }
  return problems;
}
