/**
 * Temporary files of local mode's atomic writes (write `<file>.<writer>.tmp`, then rename it over
 * `<file>`). Each is named after its writer, so a later run can remove those a killed writer
 * left, and never one a live writer is still filling.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ownerGone, thisProcess } from './pending/local-run-liveness';

/** `<file>.<pid>-<process start time>.<random>.tmp`: a temporary file for `file`, owned by this process. */
export function tempFileFor(file: string): string {
  const me = thisProcess();
  return `${file}.${me.pid}-${me.startedAt}.${randomBytes(4).toString('hex')}.tmp`;
}

/** A writer's pid and start time from a temporary file's name (older names carry the pid alone). */
const TEMP_NAME = /\.(\d+)(?:-(\d+|unknown))?\.[0-9a-f]{8}\.tmp$/;

/**
 * Remove the temporary files in `directory` whose writer is gone (it exited, or its pid is
 * another process now): what a run killed between write and rename left. Files of a live writer,
 * and names this module did not make, are left alone. The directory is taken to be this host's
 * (local mode's state directory).
 *
 * @returns the files removed.
 */
export async function removeDeadWritersTempFiles(directory: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const writer = { pid: Number(m[1]), startedAt: m[2] ?? 'unknown', host: hostname() };
    if (ownerGone(writer) !== true) continue;
    const file = join(directory, name);
    try {
      await fs.rm(file, { force: true });
      removed.push(file);
    } catch {
      // another run removed it, or it cannot be: the next run tries again
    }
  }
  return removed;
}
