/**
 * Benchmark: time to a certificate and memory, on the bundled Pebble + BIND.
 * Prints numbers; asserts nothing. `npm run bench` (add `-- --certificates 24` for a bigger run).
 */
import '../lambdas/runtime/polyfills';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocal } from '../lib/local/run-local';
import { renderLocalDefinition } from '../lib/state-machine/render';

async function main(): Promise<void> {
  const count = Number(process.argv[process.argv.indexOf('--certificates') + 1]) || 12;
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-bench-'));
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const rows: [string, string][] = [];
  const quiet = () => undefined;
  try {
    let t = performance.now();
    renderLocalDefinition();
    rows.push([
      'render definition (CDK synth of the state machine)',
      `${(performance.now() - t).toFixed(0)} ms`,
    ]);

    const demo = async (label: string, force = false) => {
      const r = await runLocal({ workdir, out: quiet, force });
      if (r.exitCode !== 0) throw new Error(`${label} failed; see ${r.runDirectory}`);
      rows.push([
        label,
        `${r.durationMs} ms (issued ${r.summary?.issuedCount}, not due ${r.summary?.skippedCount})`,
      ]);
    };
    await demo('demo, first run: servers + 2 certificates (3 names)');
    await demo('demo, second run: nothing due');
    await demo('demo, forced run: 2 certificates', true);

    const config = join(workdir, 'many.json');
    writeFileSync(
      config,
      JSON.stringify({
        acme: { directory: 'letsencrypt-staging', email: 'ops@example.test', termsOfServiceAgreed: true },
        delegation: { zone: 'acme.certflow.test', domains: ['example.test'] },
        dns: { provider: 'rfc2136', server: '127.0.0.1:53', tsig: { name: 'x', secretEnv: 'UNUSED' } },
        renewal: { maxConcurrency: 4 },
        storage: { localDirectory: join(workdir, 'certs'), defaultStores: ['local'] },
        certificates: Array.from({ length: count }, (_, i) => ({
          name: `bench-${i}`,
          domains: [`h${i}.acme.certflow.test`],
        })),
      }),
    );
    t = performance.now();
    const many = await runLocal({ workdir, configFile: config, out: quiet });
    const ms = performance.now() - t;
    if (many.exitCode !== 0) throw new Error(`bulk run failed; see ${many.runDirectory}`);
    rows.push([
      `${count} certificates, maxConcurrency 4`,
      `${ms.toFixed(0)} ms (${(ms / count).toFixed(0)} ms per certificate)`,
    ]);
  } finally {
    clearInterval(sampler);
    rmSync(workdir, { recursive: true, force: true });
  }
  rows.push(['peak RSS of the whole process', `${(peakRss / 1024 / 1024).toFixed(0)} MiB`]);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(56)} ${v}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
