import { leftoverProcesses, SESSION_VARIABLE } from './processes';

/**
 * After the whole suite: no `named`, `pebble`, `knotd`, `pdns_server` or certflow CLI process
 * this session started may still be running. Any that is gets killed, and the suite fails with
 * the list, so a test that forgets to stop a server is found.
 */
export default async function globalTeardown(): Promise<void> {
  const session = process.env[SESSION_VARIABLE];
  if (!session) return;
  // Servers being stopped get a moment to exit (SIGTERM, then SIGKILL after 5 s in the fixtures).
  let left = leftoverProcesses(SESSION_VARIABLE, session);
  for (let waited = 0; left.length > 0 && waited < 6000; waited += 200) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    left = leftoverProcesses(SESSION_VARIABLE, session);
  }
  if (left.length === 0) return;
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(
    `${left.length} process(es) started by the tests were still running after the suite (now killed):\n${left
      .map((p) => `  pid ${p.pid} ${p.comm}: ${p.cmdline}`)
      .join('\n')}`,
  );
}
