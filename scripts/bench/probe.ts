/**
 * Preloaded into each CLI process the bench measures (`NODE_OPTIONS=--require=<this>`): at exit,
 * the process's own CPU time (getrusage: user, system) and peak resident memory go to the file
 * CERTFLOW_BENCH_PROBE names.
 *
 * Peak memory is `VmHWM` from /proc/self/status (proc(5)): the high-water mark of this process's
 * own address space. getrusage's `maxRSS` is not used on Linux: a child keeps the maximum of the
 * memory it was forked with across execve, so every process the bench spawns would report at
 * least the bench's own size at that moment.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** This process's peak RSS in KiB: VmHWM where /proc exists, else getrusage's maxRSS. */
function peakRssKiB(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm?.[1]) return Number(hwm[1]);
  } catch {
    // no /proc: fall back below
  }
  return process.resourceUsage().maxRSS;
}

const file = process.env.CERTFLOW_BENCH_PROBE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({
        userMs: usage.userCPUTime / 1000,
        systemMs: usage.systemCPUTime / 1000,
        maxRssKiB: peakRssKiB(),
      }),
    );
  });
}
