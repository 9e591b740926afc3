/**
 * Whether a local run is over: its execution has ended (the local runner marks each execution it
 * ends, the run's and each batch's: the local counterpart of DescribeExecution), or its process
 * is gone, or the pid now belongs to another process (its start time differs, read from
 * `/proc/<pid>/stat`, Linux). A run recorded on another host cannot be checked from here.
 *
 * The ended mark matters when the owner's process is still alive: one process may run several
 * executions in turn (`runLocal` called again, a test runner, a scheduler embedding certflow),
 * and the values an ended execution left must not wait for the whole process to exit.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunLiveness, RunOwner, RunStatus } from '../../core/ports';

/** `/proc/<pid>/stat` after the command name: field 3 (state) onwards, if readable. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The start time of a process in clock ticks since boot (`/proc/<pid>/stat` field 22), if readable. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/**
 * Whether the process exists and has not exited. A zombie (state Z: exited, not yet reaped by its
 * parent; in a container whose init does not reap, it may stay so for good) has exited: its run
 * is over, though `kill(pid, 0)` still succeeds.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EPERM') return false;
  }
  const state = statFields(pid)?.[0];
  return state !== 'Z' && state !== 'X';
}

/** A process that owns something on disk (a lock, a file being written): pid, start time, host. */
export interface ProcessOwner {
  pid: number;
  /** `/proc/<pid>/stat` field 22, or `unknown`. */
  startedAt: string;
  host: string;
}

/** This process, as an owner. */
export function thisProcess(): ProcessOwner {
  return { pid: process.pid, startedAt: processStartTime(process.pid) ?? 'unknown', host: hostname() };
}

/**
 * Whether an owner process is gone: it has exited, or its pid is another process now (the start
 * time differs). `undefined` when that cannot be told from here (another host).
 */
export function ownerGone(owner: ProcessOwner): boolean | undefined {
  if (owner.host !== hostname()) return undefined;
  if (!alive(owner.pid)) return true;
  const started = processStartTime(owner.pid);
  return started !== undefined && owner.startedAt !== 'unknown' && started !== owner.startedAt;
}

/** The mark the local runner leaves when an execution ended. */
function endedMark(stateDirectory: string, executionId: string): string {
  const digest = createHash('sha256').update(executionId).digest('hex').slice(0, 32);
  return join(resolve(stateDirectory), 'executions-ended', digest);
}

/**
 * Record that a local execution ended, with its status (local/run-local.ts calls it for the
 * run and each batch execution).
 */
export function markExecutionEnded(stateDirectory: string, executionId: string, status: string): void {
  const mark = endedMark(stateDirectory, executionId);
  mkdirSync(join(mark, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(mark, `${JSON.stringify({ executionId, status })}\n`);
}

/** How a local execution ended, if the runner marked it. */
export function endedLocalExecution(stateDirectory: string, executionId: string): string | undefined {
  try {
    const mark = JSON.parse(readFileSync(endedMark(stateDirectory, executionId), 'utf8')) as {
      executionId?: unknown;
      status?: unknown;
    };
    return mark.executionId === executionId && typeof mark.status === 'string' ? mark.status : undefined;
  } catch {
    return undefined;
  }
}

export interface LocalRunLivenessOptions {
  /** Local mode's state directory (`<workdir>/state`), where ended executions are marked. Without it only the process is checked. */
  stateDirectory?: string;
}

export class LocalRunLiveness implements RunLiveness {
  private readonly self: RunOwner['process'];
  private readonly stateDirectory: string | undefined;

  constructor(options: LocalRunLivenessOptions = {}) {
    this.self = { pid: process.pid, startedAt: processStartTime(process.pid) ?? 'unknown', host: hostname() };
    this.stateDirectory = options.stateDirectory;
  }

  currentProcess(): RunOwner['process'] {
    return this.self;
  }

  async stateOf(owner: RunOwner): Promise<RunStatus> {
    const ended = this.stateDirectory
      ? endedLocalExecution(this.stateDirectory, owner.executionId)
      : undefined;
    if (ended) return { state: 'over', reason: `its execution ended ${ended}` };
    const p = owner.process;
    if (!p) return { state: 'unknown', reason: 'no process was recorded with it' };
    if (p.host !== this.self?.host) return { state: 'unknown', reason: `its process ran on host ${p.host}` };
    if (!alive(p.pid)) return { state: 'over', reason: `its process ${p.pid} is gone` };
    const started = processStartTime(p.pid);
    if (started !== undefined && p.startedAt !== 'unknown' && started !== p.startedAt) {
      return { state: 'over', reason: `its process ${p.pid} is gone (the pid is another process now)` };
    }
    if (started === undefined || p.startedAt === 'unknown') {
      return { state: 'unknown', reason: `the start time of process ${p.pid} cannot be read` };
    }
    return { state: 'running', reason: `its process ${p.pid} is running it` };
  }
}
