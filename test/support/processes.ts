/**
 * Finding the processes a test session started, wherever they ended up (a server whose parent
 * died is re-parented to init): each carries an environment variable the session set, read from
 * `/proc/<pid>/environ` (Linux). The variable is set in the test process's environment by the
 * global setup, so every child (named, pebble, knotd, pdns_server, the certflow CLI) inherits it.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The variable that marks this test session's processes. */
export const SESSION_VARIABLE = 'JEST_CERTFLOW_SESSION';

/** Server programs the tests start, by `/proc/<pid>/comm`. */
export const SERVER_PROGRAMS = ['named', 'pebble', 'knotd', 'pdns_server'];

export interface MarkedProcess {
  pid: number;
  /** The program name (`/proc/<pid>/comm`). */
  comm: string;
  cmdline: string;
}

/** Every live process (not a zombie) whose environment holds `variable=value`. */
export function processesMarked(variable: string, value: string): MarkedProcess[] {
  const wanted = `${variable}=${value}`;
  const found: MarkedProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (!environ.includes(wanted)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      found.push({
        pid,
        comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(),
        cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim(),
      });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Servers and certflow CLI processes carrying the marker: what must not outlive a test. */
export function leftoverProcesses(variable: string, value: string): MarkedProcess[] {
  return processesMarked(variable, value).filter(
    (p) => SERVER_PROGRAMS.includes(p.comm) || p.cmdline.includes('bin/certflow.ts'),
  );
}
