/**
 * The temporary directory of the servers local mode starts: BIND's and Pebble's state and the
 * run's TSIG key (mode 0600). The run removes it when it ends; a run killed outright (`kill -9`)
 * cannot, and its servers die with it (PR_SET_PDEATHSIG, see server-process.ts), so each directory
 * names its owner process (`owner.json`: pid, start time, host) and the next run with bundled
 * servers removes the directories whose owner is gone.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRunLiveness } from '../lambdas/adapters/pending/local-run-liveness';
import type { RunOwner } from '../lambdas/core/ports';

const PREFIX = 'certflow-servers-';
const OWNER_FILE = 'owner.json';

/** A new server directory under `parent`, owned by this process. */
export function createServerDirectory(parent: string = tmpdir(), liveness = new LocalRunLiveness()): string {
  const directory = mkdtempSync(join(parent, PREFIX));
  writeFileSync(join(directory, OWNER_FILE), `${JSON.stringify(liveness.currentProcess())}\n`, {
    mode: 0o600,
  });
  return directory;
}

/**
 * Remove the server directories under `parent` whose owner process is gone; a directory whose
 * owner is running, cannot be told, or is not recorded is left alone. Returns those removed.
 */
export async function removeAbandonedServerDirectories(
  parent: string = tmpdir(),
  liveness = new LocalRunLiveness(),
): Promise<string[]> {
  const removed: string[] = [];
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(PREFIX)) continue;
    const directory = join(parent, name);
    let owner: RunOwner['process'];
    try {
      owner = JSON.parse(readFileSync(join(directory, OWNER_FILE), 'utf8')) as RunOwner['process'];
    } catch {
      continue;
    }
    const status = await liveness.stateOf({ executionId: directory, process: owner });
    if (status.state !== 'over') continue;
    rmSync(directory, { recursive: true, force: true });
    removed.push(directory);
  }
  return removed;
}
