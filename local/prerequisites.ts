/**
 * Local mode runs a real ACME CA (Pebble) and a real authoritative DNS server (BIND 9), both
 * from the distribution's packages. This module checks they are installed and, when allowed and
 * running as root, installs them with apt-get.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { LocalServerError } from '../lambdas/core/errors';

/** A program (or, given as an absolute path, a file) and the Debian/Ubuntu package that provides it. */
export interface RequiredProgram {
  readonly program: string;
  readonly package: string;
}

/** The programs local mode runs, and the Debian/Ubuntu package that provides each. */
export const LOCAL_PROGRAMS: readonly RequiredProgram[] = [
  { program: 'pebble', package: 'pebble' },
  { program: 'named', package: 'bind9' },
  { program: 'dig', package: 'bind9-dnsutils' },
];

/**
 * What the rfc2136 adapter and end-to-end tests run besides: Knot DNS and PowerDNS with the
 * gsqlite3 backend (its database is created with the sqlite3 shell from the package's schema).
 */
export const RFC2136_TEST_PROGRAMS: readonly RequiredProgram[] = [
  { program: 'knotd', package: 'knot' },
  { program: 'keymgr', package: 'knot' },
  { program: 'kdig', package: 'knot-dnsutils' },
  { program: 'pdns_server', package: 'pdns-server' },
  { program: 'pdnsutil', package: 'pdns-server' },
  { program: '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql', package: 'pdns-backend-sqlite3' },
  { program: 'sqlite3', package: 'sqlite3' },
];

const packagesOf = (programs: readonly RequiredProgram[]): string[] => [
  ...new Set(programs.map((p) => p.package)),
];
const installCommand = (programs: readonly RequiredProgram[]): string =>
  `sudo apt-get install -y ${packagesOf(programs).join(' ')}`;

/** The command a user without root runs. */
export const INSTALL_COMMAND = installCommand(LOCAL_PROGRAMS);
/** Daemons live in sbin, which a non-root PATH often lacks. */
const SBIN = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

export interface PrerequisiteOptions {
  /** Install missing packages when running as root. */
  install: boolean;
  /** Receives progress lines, including apt-get's output. */
  log: (line: string) => void;
  /** Directories to search instead of `$PATH` plus the sbin directories (for tests). */
  searchPath?: string[];
  /** What to check and install. @default LOCAL_PROGRAMS */
  programs?: readonly RequiredProgram[];
}

/**
 * The absolute path of `program` if it is an executable file on `$PATH` (or in an sbin
 * directory), else `undefined`.
 */
export function findExecutable(program: string, searchPath?: string[]): string | undefined {
  const dirs = searchPath ?? [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN];
  for (const dir of dirs) {
    const candidate = join(dir, program);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function isPresent(program: string, searchPath?: string[]): boolean {
  if (!program.startsWith('/')) return findExecutable(program, searchPath) !== undefined;
  try {
    return statSync(program).isFile();
  } catch {
    return false;
  }
}

/** The programs of `programs` (default {@link LOCAL_PROGRAMS}) that cannot be found. */
export function missingPrograms(
  searchPath?: string[],
  programs: readonly RequiredProgram[] = LOCAL_PROGRAMS,
): string[] {
  return programs.filter((p) => !isPresent(p.program, searchPath)).map((p) => p.program);
}

/**
 * Make sure `pebble`, `named` and `dig` (or `options.programs`) are installed. When some are
 * missing and `install` is allowed and the process runs as root, run `apt-get update` and
 * `apt-get install -y pebble bind9 bind9-dnsutils` (their packages), streaming the output to `log`.
 *
 * Installing Debian's bind9 package may start the system `named` service on port 53; that does
 * not get in the way: local mode runs its own `named` on a free loopback port.
 *
 * @throws LocalServerError naming the missing programs and the exact install command.
 */
export async function ensureLocalPrerequisites(options: PrerequisiteOptions): Promise<void> {
  const programs = options.programs ?? LOCAL_PROGRAMS;
  const packages = packagesOf(programs);
  const installHint = installCommand(programs);
  const missing = missingPrograms(options.searchPath, programs);
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const what = `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed`;
  if (!options.install || !isRoot) {
    throw new LocalServerError(
      `${options.programs === undefined ? 'local mode needs Pebble and BIND 9' : 'missing prerequisites'}: ${what}. Install them with: ${installHint}`,
    );
  }
  options.log(`certflow local: ${what}; installing ${packages.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], env, options.log, installHint);
  await run('apt-get', ['install', '-y', ...packages], env, options.log, installHint);
  const still = missingPrograms(options.searchPath, programs);
  if (still.length > 0) {
    throw new LocalServerError(
      `apt-get finished but ${still.join(', ')} cannot be found on PATH. Install them with: ${installHint}`,
    );
  }
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  installHint: string,
): Promise<void> {
  const shown = [command, ...args].join(' ');
  log(`$ ${shown}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => log(line));
    }
    child.once('error', (error) => {
      reject(
        new LocalServerError(`cannot run "${shown}". Install manually: ${installHint}`, { cause: error }),
      );
    });
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        reject(
          new LocalServerError(
            `"${shown}" failed (${signal ?? `exit code ${code}`}). Install manually: ${installHint}`,
          ),
        );
      }
    });
  });
}
