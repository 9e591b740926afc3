/**
 * Run the operator CLI as a user without privileges, so file permissions are real: tests run as
 * root in CI, and root passes every permission check. As root the child gets `nobody`'s uid and
 * gid (setuid/setgid by `child_process.spawn`); otherwise it runs as the current user, for whom
 * modes apply anyway.
 */
import { spawn } from 'node:child_process';
import { chownSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '..', '..');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
/** nobody:nogroup on Debian/Ubuntu. */
const NOBODY = { uid: 65534, gid: 65534 };

/** The uid the child runs as. */
export const unprivilegedUid: number = isRoot ? NOBODY.uid : (process.getuid?.() ?? -1);

/** Give `path` to the unprivileged user (a no-op when not root: it is already ours). */
export function giveToUnprivileged(...paths: string[]): void {
  if (!isRoot) return;
  for (const path of paths) chownSync(path, NOBODY.uid, NOBODY.gid);
}

/** `tsx bin/certflow.ts <args>` as the unprivileged user; resolves when it exits. */
export function runCliUnprivileged(
  args: string[],
  home: string,
  /** Called with everything printed on stdout so far, each time more arrives. */
  onStdout?: (stdout: string) => void,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CERTFLOW_')));
  const child = spawn(
    join(REPO, 'node_modules', '.bin', 'tsx'),
    [join(REPO, 'bin', 'certflow.ts'), ...args],
    {
      cwd: home,
      env: { ...env, HOME: home },
      ...(isRoot ? NOBODY : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    onStdout?.(stdout);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}
