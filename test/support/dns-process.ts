/**
 * DNS server processes for tests (named, knotd, pdns_server): spawned in the foreground with
 * their output in a log file, waited for until they answer SOA for their zones, stopped with
 * SIGTERM (SIGKILL after 5 s). Every child still running when the test process exits is killed,
 * so a failing or interrupted test leaves no server behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { UdpDnsClient } from '../../lambdas/adapters/dns/transport/udp-dns-client';
import type { ServerAddress } from '../../lambdas/core/ports';
import { findExecutable } from '../../local/prerequisites';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** Kill every server still running when this process exits, or is interrupted or terminated. */
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      // Then die of the signal as we would have without this handler (unless someone else handles it).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

export interface DnsDaemon {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** True once the process has exited. */
  exited(): boolean;
  /** The last lines of its log. */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

/** The absolute path of a server program, or an error naming the Debian package to install. */
export function requireProgram(program: string, debianPackage: string): string {
  const path = findExecutable(program);
  if (path === undefined) {
    throw new Error(`${program} is not installed; install it with: apt-get install -y ${debianPackage}`);
  }
  return path;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Start `command` in the foreground, stdout and stderr appended to `logFile`. */
export function spawnDaemon(
  command: string,
  args: string[],
  opts: { cwd: string; logFile: string },
): DnsDaemon {
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  killAllOnExit();
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.on('error', () => running.delete(child));
  const exited = (): boolean =>
    child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
  return {
    child,
    logFile: opts.logFile,
    exited,
    logTail(lines = 30) {
      try {
        return readFileSync(opts.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
    async stop() {
      if (exited()) return;
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 5000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5000);
      }
      running.delete(child);
    },
  };
}

/**
 * Wait until the server answers SOA for every zone (authoritatively, or with RD=1 through a
 * `recursive` resolver); on exit or timeout stop it and throw with the tail of its log.
 */
export async function waitForZones(
  daemon: DnsDaemon,
  address: ServerAddress,
  zones: string[],
  what: string,
  opts: { recursive?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const client = new UdpDnsClient({ retries: 0, timeoutMs: 250 });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (daemon.exited()) {
      throw new Error(`${what} exited before it served ${zones.join(', ')}:\n${daemon.logTail()}`);
    }
    const ready = await Promise.all(
      zones.map((zone) =>
        client.query(address, zone, 'SOA', { recursionDesired: opts.recursive === true }).then(
          (r) =>
            r.rcode === 'NOERROR' &&
            (r.authoritative || opts.recursive === true) &&
            r.answers.some((a) => a.type === 'SOA'),
          () => false,
        ),
      ),
    );
    if (ready.every(Boolean)) return;
    if (Date.now() > deadline) {
      await daemon.stop();
      throw new Error(
        `${what} did not serve ${zones.join(', ')} within ${timeoutMs} ms:\n${daemon.logTail()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Start a server on a fresh free port, trying again on another port when the first one was
 * taken in the meantime (other tests pick ports concurrently).
 */
export async function onFreePort<T>(
  start: (port: number) => Promise<T>,
  freePort: () => Promise<number>,
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      lastError = error;
      if (!/address already in use|EADDRINUSE|cannot bind|failed to bind|Unable to bind/i.test(String(error)))
        throw error;
    }
  }
  throw lastError;
}
