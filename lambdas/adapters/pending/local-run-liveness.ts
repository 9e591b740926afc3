/**
 * Whether a local run is over: the runner marked its execution ended, or its process is gone, or
 * the pid now belongs to another process (its start time differs, read from `/proc/<pid>/stat`,
 * Linux). A run recorded on another host cannot be checked from here.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunLiveness, RunOwner, RunState } from '../../core/ports';

/** The start time of a process in clock ticks since boot (`/proc/<pid>/stat` field 22), if readable. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** The marker the local runner writes when an execution ended (any status). */
function endedMarker(stateDirectory: string, executionId: string): string {
  const digest = createHash('sha256').update(executionId).digest('hex').slice(0, 32);
  return join(resolve(stateDirectory), 'executions-ended', digest);
}

/** Record that a local execution ended (the runner calls it for the run and each batch). */
export function markExecutionEnded(stateDirectory: string, executionId: string): void {
  const marker = endedMarker(stateDirectory, executionId);
  mkdirSync(join(marker, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(marker, `${executionId}\n`);
}

export class LocalRunLiveness implements RunLiveness {
  private readonly self: RunOwner['process'];

  /** `stateDirectory`: where the runner marks ended executions. */
  constructor(private readonly stateDirectory?: string) {
    this.self = { pid: process.pid, startedAt: processStartTime(process.pid) ?? 'unknown', host: hostname() };
  }

  currentProcess(): RunOwner['process'] {
    return this.self;
  }

  async stateOf(owner: RunOwner): Promise<RunState> {
    if (this.stateDirectory && existsSync(endedMarker(this.stateDirectory, owner.executionId))) return 'over';
    const p = owner.process;
    if (!p || p.host !== this.self?.host) return 'unknown';
    if (!alive(p.pid)) return 'over';
    const started = processStartTime(p.pid);
    if (started === undefined || p.startedAt === 'unknown') return 'unknown';
    return started === p.startedAt ? 'running' : 'over';
  }
}
