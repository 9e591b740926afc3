/**
 * Whether a local run is over: its process is gone, or the pid now belongs to another process
 * (its start time differs, read from `/proc/<pid>/stat`, Linux). A run recorded on another host
 * cannot be checked from here.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
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

export class LocalRunLiveness implements RunLiveness {
  private readonly self: RunOwner['process'];

  constructor() {
    this.self = { pid: process.pid, startedAt: processStartTime(process.pid) ?? 'unknown', host: hostname() };
  }

  currentProcess(): RunOwner['process'] {
    return this.self;
  }

  async stateOf(owner: RunOwner): Promise<RunState> {
    const p = owner.process;
    if (!p || p.host !== this.self?.host) return 'unknown';
    if (!alive(p.pid)) return 'over';
    const started = processStartTime(p.pid);
    if (started === undefined || p.startedAt === 'unknown') return 'unknown';
    return started === p.startedAt ? 'running' : 'over';
  }
}
