import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStartTime } from '../../lambdas/adapters/pending/local-run-liveness';
import { createServerDirectory, removeAbandonedServerDirectories } from '../../local/server-directory';

/**
 * The server directories of local mode (BIND's and Pebble's state, the run's TSIG key) on the
 * real filesystem, owned by real processes: a later run removes those whose owner is gone (a run
 * killed with `kill -9`), and only those.
 */
describe('server directories of local mode', () => {
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'certflow-serverdirs-'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  /** A server directory as a run of process `pid` left it. */
  const leftBy = (pid: number, startedAt: string): string => {
    const dir = join(parent, `certflow-servers-${pid}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'tsig.key'), 'c2VjcmV0\n', { mode: 0o600 });
    writeFileSync(join(dir, 'owner.json'), JSON.stringify({ pid, startedAt, host: hostname() }));
    return dir;
  };

  it('names this process as its owner', () => {
    const dir = createServerDirectory(parent);
    expect(JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8'))).toEqual({
      pid: process.pid,
      startedAt: processStartTime(process.pid),
      host: hostname(),
    });
  });

  it('removes the directory of a run whose process is gone, keeps a running one and one with no owner recorded', async () => {
    // A process that has exited: its pid, and the start time it had.
    const gone = spawnSync('sh', ['-c', 'cat /proc/$$/stat'], { encoding: 'utf8' });
    const fields = gone.stdout.slice(gone.stdout.lastIndexOf(')') + 2).split(' ');
    const goneDir = leftBy(gone.pid as number, fields[19] as string);
    const runningDir = createServerDirectory(parent);
    const unknownDir = join(parent, 'certflow-servers-older');
    mkdirSync(unknownDir);

    expect(await removeAbandonedServerDirectories(parent)).toEqual([goneDir]);
    expect(existsSync(goneDir)).toBe(false);
    expect(existsSync(runningDir)).toBe(true);
    expect(existsSync(unknownDir)).toBe(true);
  });
});
