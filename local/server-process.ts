/**
 * How local mode starts the servers it owns (named, pebble): in their own process group, so a
 * terminal's Ctrl-C (SIGINT to the foreground group) reaches only certflow, which then removes
 * the run's TXT values and stops the servers itself; and, where util-linux `setpriv` is present
 * (Debian and Ubuntu: always), with a parent-death signal (Linux `PR_SET_PDEATHSIG`), so a
 * certflow process that is killed outright (`kill -9`) takes its servers with it.
 */
import { findExecutable } from './prerequisites';

/** The command and arguments that run `binary args` as a server owned by this process. */
export function ownedServerCommand(binary: string, args: string[]): { command: string; args: string[] } {
  const setpriv = findExecutable('setpriv');
  if (setpriv === undefined) return { command: binary, args };
  return { command: setpriv, args: ['--pdeathsig', 'TERM', '--', binary, ...args] };
}

/** Spawn options every owned server gets: its own process group (see the module comment). */
export const OWNED_SERVER_SPAWN = { detached: true } as const;
