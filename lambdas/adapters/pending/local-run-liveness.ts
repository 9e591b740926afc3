/**
 * Whether a local run is over: its execution has ended (local mode's record of it, the local
 * counterpart of DescribeExecution), or its process is gone, or the pid now belongs to another
 * process (its start time differs, read from `/proc/<pid>/stat`, Linux). A run recorded on
 * another host cannot be checked from here.
 *
 * The execution record matters when the owner's process is still alive: one process may run
 * several executions in turn (`runLocal` called again, a test runner, a scheduler embedding
 * certflow), and the values an ended execution left must not wait for the whole process to exit.
 */
import { readdirSync, readFileSync } from 'node:fs';
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

/** Statuses a local execution ends with (lib/local/execute.ts, Step Functions' words). */
const ENDED = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/**
 * How an execution ended, from local mode's run records: `<runs>/<run>/execution.json`
 * (`{executionArn, status}`, written by lib/local/run-local.ts once the execution is over).
 * Undefined while it is still going, or when no record names it.
 */
export function endedLocalExecution(runsDirectory: string, executionArn: string): string | undefined {
  let runs: string[];
  try {
    runs = readdirSync(runsDirectory);
  } catch {
    return undefined;
  }
  // The run directory is named after the execution's run id (`local-<runId>`): look there first.
  const name = executionArn.slice(executionArn.lastIndexOf(':') + 1);
  const guess = name.replace(/^local-/, '');
  const ordered = runs.includes(guess) ? [guess, ...runs.filter((r) => r !== guess)] : runs;
  for (const run of ordered) {
    try {
      const record = JSON.parse(readFileSync(join(runsDirectory, run, 'execution.json'), 'utf8')) as {
        executionArn?: unknown;
        status?: unknown;
      };
      if (
        record.executionArn === executionArn &&
        typeof record.status === 'string' &&
        ENDED.has(record.status)
      )
        return record.status;
    } catch {
      // no record (a run still going, or one that ended before writing it): not this one
    }
  }
  return undefined;
}

export interface LocalRunLivenessOptions {
  /**
   * Local mode's state directory (`<workdir>/state`); its sibling `runs/` holds the execution
   * records. Without it only the process is checked.
   */
  stateDirectory?: string;
}

export class LocalRunLiveness implements RunLiveness {
  private readonly self: RunOwner['process'];
  private readonly runsDirectory: string | undefined;

  constructor(options: LocalRunLivenessOptions = {}) {
    this.self = { pid: process.pid, startedAt: processStartTime(process.pid) ?? 'unknown', host: hostname() };
    this.runsDirectory = options.stateDirectory
      ? join(resolve(options.stateDirectory), '..', 'runs')
      : undefined;
  }

  currentProcess(): RunOwner['process'] {
    return this.self;
  }

  async stateOf(owner: RunOwner): Promise<RunStatus> {
    const p = owner.process;
    if (!p) return { state: 'unknown', reason: 'no process was recorded with it' };
    if (p.host !== this.self?.host) return { state: 'unknown', reason: `its process ran on host ${p.host}` };
    if (!alive(p.pid)) return { state: 'over', reason: `its process ${p.pid} is gone` };
    const started = processStartTime(p.pid);
    if (started !== undefined && p.startedAt !== 'unknown' && started !== p.startedAt) {
      return { state: 'over', reason: `its process ${p.pid} is gone (the pid is another process now)` };
    }
    const ended = this.runsDirectory ? endedLocalExecution(this.runsDirectory, owner.executionId) : undefined;
    if (ended) return { state: 'over', reason: `its execution ended ${ended}` };
    if (started === undefined || p.startedAt === 'unknown') {
      return { state: 'unknown', reason: `the start time of process ${p.pid} cannot be read` };
    }
    return { state: 'running', reason: `its process ${p.pid} is running it` };
  }
}
