/**
 * Preloaded into each CLI process the bench measures (`NODE_OPTIONS=--require=<this>`): at exit,
 * the process's own CPU time and peak resident memory (getrusage: user, system, maxRSS) go to
 * the file CERTFLOW_BENCH_PROBE names.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.CERTFLOW_BENCH_PROBE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({
        userMs: usage.userCPUTime / 1000,
        systemMs: usage.systemCPUTime / 1000,
        maxRssKiB: usage.maxRSS,
      }),
    );
  });
}
