/**
 * One cold start of one function bundle, in a process of its own (the bench spawns it with or
 * without `--enable-source-maps`): `require` the bundle, then its first invocation, as the
 * Node.js Lambda runtime does. Reads the event from stdin; writes to fd 3 one JSON document:
 * `{ requireMs, invokeMs, cpuMs, result }` (cpuMs: this process's user + system CPU time over
 * both, which a busy machine inflates less than wall time) or, when the handler throws, `{ ..., error }` with the
 * runtime's error response (its `trace` read inside the timed part: the runtime formats the
 * stack before it answers, and that is where source maps cost).
 */
import { readFileSync, writeSync } from 'node:fs';
import { lambdaErrorFormatter } from '../../local/lambda-runtime';

type Handler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

async function main(): Promise<void> {
  const [file, functionName] = process.argv.slice(2);
  const event = JSON.parse(readFileSync(0, 'utf8')) as unknown;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { handler } = require(file) as { handler: Handler };
  const t1 = performance.now();
  let result: unknown;
  let thrown: unknown;
  let stack = '';
  try {
    result = await handler(event, {
      functionName,
      awsRequestId: `bench-${process.pid}`,
      getRemainingTimeInMillis: () => 60_000,
    });
  } catch (error) {
    thrown = error;
    stack = String((error as Error | undefined)?.stack ?? '');
  }
  const t2 = performance.now();
  const cpu = process.cpuUsage(c0);
  const out: Record<string, unknown> = {
    requireMs: t1 - t0,
    invokeMs: t2 - t1,
    cpuMs: (cpu.user + cpu.system) / 1000,
    stackLines: stack.split('\n').length,
  };
  if (thrown === undefined) out.result = result === undefined ? null : result;
  else out.error = lambdaErrorFormatter().format(thrown);
  writeSync(3, JSON.stringify(out));
  // Keep-alive sockets and timers of the function would hold the process; a Lambda sandbox freezes.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
