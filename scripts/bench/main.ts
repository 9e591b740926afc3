/**
 * `npm run bench`: where the time goes, measured on this machine. Prints numbers and asserts no
 * timing (timing targets never go in tests); it exits 1, after printing everything, when the
 * local run of 1,000 certificates did not exit 0 or one of its executions went over an AWS limit
 * (25,000 history events, 262,144 bytes of state payload), saying which. Runs from the
 * compiled build (`dist/`), after `npm run build`, against one BIND and one Pebble it starts
 * once (not counted):
 *
 * 1. the function bundles: size per function, its source map, and the largest inputs (esbuild's
 *    metafile);
 * 2. cold starts: each Task invocation of a real one-certificate run (and of a failing one, for
 *    RecordFailure and an error's path) in a process of its own: `require` of the bundle and its
 *    first invocation, without and with `--enable-source-maps` (the construct's
 *    `sourceMapsAtRuntime`); medians over the repetitions;
 * 3. the CLI as a user runs it (`dist/bin/certflow.js`, through its shebang): whole-process wall
 *    time, CPU time (user + system) and peak RSS (getrusage, read at exit by a preloaded probe)
 *    for `--help` and for `local --external --force` with one, ten and one hundred certificates.
 *
 * 4. scale: `cdk synth` of the example stack with 10, 100 and 1,000 certificates (resources,
 *    template size, largest role policy, largest function environment), and a local run of 1,000
 *    certificates (wall, CPU, peak RSS; each execution's AWS-counted events and the largest state
 *    payload).
 *
 * Options: `--reps <n>` repetitions of the one-certificate and `--help` cases (default 7);
 * `--only bundles|cold|cli|scale`: one section; `--cpu-prof <dir>`: a V8 CPU profile of every process measured, under `<dir>/<function>/` and
 * `<dir>/cli/` (open in Chrome DevTools, or summarize by self time per file).
 */
import '../../lambdas/runtime/polyfills';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { parseConfig } from '../../lambdas/core/config/load';
import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import { ENV } from '../../lambdas/runtime/env';
import {
  defaultProjectRoot,
  ensureFunctionBundles,
  type FunctionBundle,
  prebuiltRoot,
} from '../../lib/bundling/function-bundles';
import { CertflowStack } from '../../lib/certflow-stack';
import { STEP_SETTINGS } from '../../lib/state-machine/step-settings';
import { AWS_LIMITS, scaledConfig, templateStats } from '../../lib/template-stats';
import { type BindServer, generateTsigSecret, startBind } from '../../local/bind';
import { LambdaInvocationError, LocalFunction } from '../../local/lambda-runtime';
import { localDefinitions } from '../../local/local-definition';
import { type PebbleServer, startPebble } from '../../local/pebble';
import { freeDnsPort, freeTcpPort } from '../../local/ports';
import { executeRunWithBatches } from '../../local/run-with-batches';
import { type ScaleRecord, scaleViolations } from './scale-check';

const PRIMARY = 'example.test';
const DELEGATED = 'acme.certflow.test';
const TSIG_NAME = 'certflow-bench';
/** Names with an `_acme-challenge` CNAME in the bench's BIND (the scale run issues a thousand). */
const HOSTS = 1000;

type JsonValue = Parameters<LocalFunction['invoke']>[0];

/** `--cpu-prof <dir>`: every process the bench starts writes a V8 CPU profile there. */
const CPU_PROFILE_DIR = option('--cpu-prof');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** `--only bundles|cold|cli|scale`: one section. */
const only = (section: 'bundles' | 'cold' | 'cli' | 'scale'): boolean => {
  const wanted = option('--only');
  return wanted === undefined || wanted === section;
};

interface Servers {
  bind: BindServer;
  pebble: PebbleServer;
  dns: string;
  tsigFile: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (n: number): string => `${n.toFixed(0)} ms`;
const s = (n: number): string => `${(n / 1000).toFixed(2)} s`;
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** A plain-text table: the first column (and `leftLast`: the last) left-aligned, numbers right. */
function table(header: string[], rows: string[][], leftLast = false): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const left = (i: number) => i === 0 || (leftLast && i === header.length - 1);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left(i) ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  out(line(header));
  for (const r of rows) out(line(r));
}

async function startServers(dir: string): Promise<Servers> {
  const secret = generateTsigSecret();
  const tsigFile = join(dir, 'tsig.key');
  writeFileSync(tsigFile, `${secret}\n`, { mode: 0o600 });
  const names = Array.from({ length: HOSTS }, (_, i) => `h${i}.${PRIMARY}`);
  const bind = await startBind({
    directory: join(dir, 'bind'),
    port: await freeDnsPort(),
    primaryZone: PRIMARY,
    delegatedZone: DELEGATED,
    cnames: names.map((n) => ({ name: `_acme-challenge.${n}`, target: `${n}.${DELEGATED}` })),
    tsig: { name: TSIG_NAME, algorithm: 'hmac-sha256', secret },
  });
  const dns = `127.0.0.1:${bind.address.port}`;
  try {
    // No authorization reuse: every order publishes, validates and removes its own TXT values.
    const pebble = await startPebble({
      directory: join(dir, 'pebble'),
      port: await freeTcpPort(),
      managementPort: await freeTcpPort(),
      dnsServer: dns,
      env: { PEBBLE_AUTHZREUSE: '0' },
    });
    return { bind, pebble, dns, tsigFile };
  } catch (error) {
    await bind.stop();
    throw error;
  }
}

/** A config for the running servers: `domains[i]` is certificate i's one name. */
function writeConfig(dir: string, servers: Servers, name: string, domains: string[]): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        acme: {
          directory: servers.pebble.directoryUrl,
          email: 'bench@example.test',
          termsOfServiceAgreed: true,
          caBundleFile: servers.pebble.caBundleFile,
        },
        delegation: {
          zone: DELEGATED,
          domains: [PRIMARY],
          nameservers: [servers.dns],
          resolver: servers.dns,
        },
        dns: {
          provider: 'rfc2136',
          server: servers.dns,
          tsig: { name: TSIG_NAME, algorithm: 'hmac-sha256', secretFile: servers.tsigFile },
        },
        // The shortest intervals the schema allows; checks bounded so 100 certificates fit one
        // execution's history (lib/state-machine/limits.ts).
        timing: {
          propagationIntervalSeconds: 1,
          propagationMaxChecks: 10,
          orderIntervalSeconds: 1,
          orderMaxChecks: 10,
        },
        storage: { localDirectory: join(dir, 'certs'), defaultStores: ['local'] },
        certificates: domains.map((d, i) => ({ name: `${name}-${i}`, domains: [d] })),
      },
      null,
      2,
    ),
  );
  return file;
}

// ---- 1. bundles ------------------------------------------------------------------------------

function bundleSection(bundles: Record<TaskStep, FunctionBundle>): void {
  out('## Function bundles (index.js as deployed; the source map beside it is not loaded by default)');
  const rows = TASK_STEPS.map((step) => {
    const b = bundles[step];
    const top = Object.entries(b.inputs)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 3)
      .map(([path, bytes]) => `${path.replace(/^node_modules\//, '')} ${kb(bytes)}`)
      .join(', ');
    return [step, kb(b.bytes), kb(statSync(`${b.file}.map`).size), top];
  });
  table(['function', 'index.js', 'index.js.map', 'largest inputs'], rows, true);
  const byPackage = new Map<string, number>();
  for (const step of TASK_STEPS) {
    for (const [path, bytes] of Object.entries(bundles[step].inputs)) {
      const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const key = m ? m[1] : path.split('/').slice(0, 2).join('/');
      byPackage.set(key, Math.max(byPackage.get(key) ?? 0, 0) + bytes);
    }
  }
  out();
  out('largest inputs over all ten bundles (bytes in output, summed):');
  for (const [key, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 8))
    out(`  ${key.padEnd(28)} ${kb(bytes).padStart(8)}`);
  out();
}

// ---- 2. cold starts ----------------------------------------------------------------------------

interface ColdSample {
  label: string;
  requireMs: number;
  invokeMs: number;
  cpuMs: number;
}

/** A function whose every invocation is a cold start in a new process (scripts/bench/cold-invoke). */
class ColdProcessFunction extends LocalFunction {
  constructor(
    bundle: FunctionBundle,
    private readonly sourceMaps: boolean,
    private readonly record: (sample: ColdSample) => void,
  ) {
    super(bundle, STEP_SETTINGS[bundle.step].timeoutSeconds);
  }

  override async invoke(event: JsonValue): Promise<JsonValue> {
    const script = join(__dirname, 'cold-invoke.js');
    const args = [
      ...(this.sourceMaps ? ['--enable-source-maps'] : []),
      ...(CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROFILE_DIR, this.step)}`] : []),
      script,
      this.bundle.file,
      this.step,
    ];
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let doc = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      doc += d.toString();
    });
    child.stdin?.end(JSON.stringify(event));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    if (code !== 0 || !doc) throw new Error(`cold invocation of ${this.step} failed (${code}): ${stderr}`);
    const answer = JSON.parse(doc) as {
      requireMs: number;
      invokeMs: number;
      cpuMs: number;
      result?: JsonValue;
      error?: ConstructorParameters<typeof LambdaInvocationError>[0];
    };
    const sweep = (event as { sweep?: unknown } | null)?.sweep === true;
    const label = `${this.step}${sweep ? ' (sweep)' : ''}${answer.error ? ` (throws ${answer.error.errorType})` : ''}`;
    this.record({ label, requireMs: answer.requireMs, invokeMs: answer.invokeMs, cpuMs: answer.cpuMs });
    if (answer.error) throw new LambdaInvocationError(answer.error);
    return answer.result ?? null;
  }
}

async function coldFlow(
  bundles: Record<TaskStep, FunctionBundle>,
  configFile: string,
  stateDir: string,
  sourceMaps: boolean,
): Promise<ColdSample[]> {
  const samples: ColdSample[] = [];
  const seen = new Set<string>();
  const functions = Object.fromEntries(
    TASK_STEPS.map((step) => [
      step,
      new ColdProcessFunction(bundles[step], sourceMaps, (sample) => {
        // The first invocation of each kind in this run.
        if (!seen.has(sample.label)) samples.push(sample);
        seen.add(sample.label);
      }),
    ]),
  ) as unknown as Record<TaskStep, LocalFunction>;
  const env = process.env;
  const saved = { ...env };
  delete env[ENV.config];
  env[ENV.mode] = 'local';
  env[ENV.configFile] = configFile;
  env[ENV.stateDirectory] = stateDir;
  env[ENV.logFile] = join(stateDir, 'handlers.log');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  try {
    const name = `bench-${Date.now()}`;
    const { execution } = await executeRunWithBatches(
      localDefinitions(),
      { force: true },
      {
        functions,
        execution: { name, arn: `arn:aws:states:us-east-1:000000000000:execution:bench:${name}` },
      },
    );
    if (execution.status !== 'SUCCEEDED' && execution.failed?.Error !== 'CertificatesFailed')
      throw new Error(`cold-start run ended ${execution.status}: ${JSON.stringify(execution.failed)}`);
  } finally {
    for (const key of Object.keys(env)) if (!(key in saved)) delete env[key];
    Object.assign(env, saved);
  }
  return samples;
}

async function coldSection(
  bundles: Record<TaskStep, FunctionBundle>,
  configs: { one: string; failing: string },
  dir: string,
  reps: number,
): Promise<{ label: string; ms: number }> {
  out('## Cold start per function: require of index.js + first invocation, each in a new process');
  out(`(one-certificate run and a failing run, every invocation cold; median of ${reps});`);
  out('first four columns without source maps, last four with --enable-source-maps (as deployed with');
  out("sourceMapsAtRuntime); CPU: the process's user + system time over require and first call");
  const results: Record<'off' | 'on', Map<string, ColdSample[]>> = { off: new Map(), on: new Map() };
  for (let rep = 0; rep < reps; rep++) {
    for (const setting of ['off', 'on'] as const) {
      for (const config of [configs.one, configs.failing]) {
        const samples = await coldFlow(bundles, config, join(dir, 'cold-state'), setting === 'on');
        for (const sample of samples) {
          const list = results[setting].get(sample.label) ?? [];
          list.push(sample);
          results[setting].set(sample.label, list);
        }
      }
    }
  }
  const rows: string[][] = [];
  let worst = { label: '', ms: 0 };
  for (const [label, off] of results.off) {
    const on = results.on.get(label) ?? [];
    const med = (xs: ColdSample[], f: (x: ColdSample) => number) => (xs.length ? median(xs.map(f)) : NaN);
    const totalOn = med(on, (x) => x.requireMs + x.invokeMs);
    if (totalOn > worst.ms) worst = { label, ms: totalOn };
    rows.push([
      label,
      ms(med(off, (x) => x.requireMs)),
      ms(med(off, (x) => x.invokeMs)),
      ms(med(off, (x) => x.requireMs + x.invokeMs)),
      ms(med(off, (x) => x.cpuMs)),
      ms(med(on, (x) => x.requireMs)),
      ms(med(on, (x) => x.invokeMs)),
      ms(totalOn),
      ms(med(on, (x) => x.cpuMs)),
    ]);
  }
  table(
    ['invocation', 'require', 'first call', 'total', 'CPU', 'require', 'first call', 'total', 'CPU'],
    rows,
  );
  out(`slowest cold start with source maps on: ${ms(worst.ms)} (${worst.label})`);
  out();
  return worst;
}

// ---- 3. the CLI as a process -------------------------------------------------------------------

interface ProcessRun {
  wallMs: number;
  cpuMs: number;
  maxRssMiB: number;
  code: number | null;
  output: string;
}

async function cliRun(bin: string, args: string[], dir: string): Promise<ProcessRun> {
  const probeFile = join(dir, `probe-${process.pid}-${Date.now()}.json`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: [
      `--require=${join(__dirname, 'probe.js')}`,
      ...(CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(CPU_PROFILE_DIR, 'cli')}`] : []),
    ].join(' '),
    CERTFLOW_BENCH_PROBE: probeFile,
  };
  const started = performance.now();
  // Through the shebang, as an installed `certflow` runs.
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  const wallMs = performance.now() - started;
  const probe = JSON.parse(readFileSync(probeFile, 'utf8')) as {
    userMs: number;
    systemMs: number;
    maxRssKiB: number;
  };
  rmSync(probeFile, { force: true });
  return { wallMs, cpuMs: probe.userMs + probe.systemMs, maxRssMiB: probe.maxRssKiB / 1024, code, output };
}

interface CliCase {
  label: string;
  args: string[];
  runs: number;
  /** Exit code expected (0 for a run where every certificate is issued). */
  expect: number;
}

interface CliStats {
  wallMs: number;
  cpuMs: number;
  maxRssMiB: number;
}

async function cliSection(bin: string, cases: CliCase[], dir: string): Promise<Map<string, CliStats>> {
  out('## The CLI, whole process (dist/bin/certflow.js through its shebang; servers already running)');
  const rows: string[][] = [];
  const stats = new Map<string, CliStats>();
  for (const c of cases) {
    const runs: ProcessRun[] = [];
    for (let i = 0; i < c.runs; i++) {
      const run = await cliRun(bin, c.args, dir);
      if (run.code !== c.expect)
        throw new Error(`${c.label}: exit code ${run.code}, expected ${c.expect}\n${run.output}`);
      runs.push(run);
    }
    const wall = runs.map((r) => r.wallMs);
    stats.set(c.label, {
      wallMs: median(wall),
      cpuMs: median(runs.map((r) => r.cpuMs)),
      maxRssMiB: median(runs.map((r) => r.maxRssMiB)),
    });
    const waits = runs.filter((r) => /Wait\w+\s+ok/.test(r.output)).length;
    rows.push([
      c.label,
      String(c.runs),
      s(median(wall)),
      `${s(Math.min(...wall))}–${s(Math.max(...wall))}`,
      s(median(runs.map((r) => r.cpuMs))),
      `${median(runs.map((r) => r.maxRssMiB)).toFixed(0)} MiB`,
      c.args[0] === 'local' ? `${waits}/${c.runs}` : '',
    ]);
  }
  table(['command', 'runs', 'wall p50', 'wall min–max', 'CPU p50', 'peak RSS p50', 'runs with a Wait'], rows);
  out();
  return stats;
}

/** The issue's targets next to what was measured, as a Markdown table (for docs/performance.md). */
function targetsSection(
  bundles: Record<TaskStep, FunctionBundle>,
  cold: { label: string; ms: number } | undefined,
  cli: Map<string, CliStats> | undefined,
): void {
  const largest = TASK_STEPS.map((step) => bundles[step]).sort((a, b) => b.bytes - a.bytes)[0];
  const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
  const rows: string[][] = [
    [
      'each function bundle',
      '≤ 400 KB',
      `${kb(largest.bytes)} (largest: ${largest.step})`,
      verdict(largest.bytes <= 400 * 1024),
    ],
  ];
  if (cold) {
    rows.push([
      '`require` + first invocation, source maps on',
      '≤ 150 ms',
      `${ms(cold.ms)} (slowest: ${cold.label})`,
      verdict(cold.ms <= 150),
    ]);
  }
  const get = (label: string) => cli?.get(label);
  const help = get('certflow --help');
  if (help) rows.push(['`certflow --help`', '≤ 0.2 s', s(help.wallMs), verdict(help.wallMs <= 200)]);
  const one = get('local: 1 certificate');
  if (one) {
    rows.push(
      ['1 certificate, whole process, wall p50', '≤ 1.5 s', s(one.wallMs), verdict(one.wallMs <= 1500)],
      ['1 certificate, CPU (user + system)', '≤ 1 CPU-s', s(one.cpuMs), verdict(one.cpuMs <= 1000)],
      [
        '1 certificate, peak RSS',
        '≤ 150 MiB',
        `${one.maxRssMiB.toFixed(0)} MiB`,
        verdict(one.maxRssMiB <= 150),
      ],
    );
  }
  const ten = get('local: 10 certificates');
  if (ten) rows.push(['10 certificates, wall p50', '≤ 2.5 s', s(ten.wallMs), verdict(ten.wallMs <= 2500)]);
  const hundred = get('local: 100 certificates');
  if (hundred) {
    rows.push([
      '100 certificates, wall / CPU / peak RSS',
      '(none)',
      `${s(hundred.wallMs)} / ${s(hundred.cpuMs)} / ${hundred.maxRssMiB.toFixed(0)} MiB`,
      '',
    ]);
  }
  out('## Against the targets (Markdown, for the README)');
  out('| what | target | measured | |');
  out('| --- | --- | --- | --- |');
  for (const r of rows) out(`| ${r.join(' | ')} |`);
  out();
}

// ---- 4. scale: a thousand certificates ---------------------------------------------------------

/** `cdk synth` of the example stack with 10, 100 and 1,000 single-name certificates. */
function synthScaleSection(): void {
  out('## One deployment, 10 to 1,000 certificates (cdk synth of the example stack, compact certificates)');
  const example = JSON.parse(
    readFileSync(join(defaultProjectRoot(), 'certflow.config.example.json'), 'utf8'),
  ) as Record<string, unknown>;
  const rows: string[][] = [];
  for (const count of [10, 100, 1000]) {
    const started = performance.now();
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new CertflowStack(app, 'CertflowScale', {
      config: parseConfig(scaledConfig(example, count), `${count} certificates`),
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    const template = app.synth().getStackByName(stack.stackName).template as Parameters<
      typeof templateStats
    >[0];
    const st = templateStats(template);
    rows.push([
      String(count),
      `${st.resources} / ${AWS_LIMITS.resources}`,
      `${kb(st.templateBytes)} / 1 MB`,
      `${st.largestRolePolicy.chars} / ${AWS_LIMITS.rolePolicyChars} (${st.largestRolePolicy.role.replace(/^Certflow|[0-9A-F]{8}$/g, '')})`,
      `${st.largestEnvironment.bytes} B / 4 KiB`,
      s(performance.now() - started),
    ]);
  }
  table(
    ['certificates', 'resources', 'template', 'largest role policy (chars)', 'largest environment', 'synth'],
    rows,
  );
  out();
}

/**
 * What the bench found wrong (not timing): printed at the end, and the bench exits 1. A run of
 * 1,000 certificates must complete, each execution within Step Functions' quotas.
 */
const violations: string[] = [];

/** A local run of a thousand certificates: wall, CPU, peak RSS, and each execution's events and payload. */
async function localScaleSection(bin: string, config: string, dir: string): Promise<void> {
  out('## A local run of 1,000 certificates (dist/bin/certflow.js local --external --force)');
  const workdir = join(dir, 'scale');
  const run = await cliRun(bin, ['local', '--external', '--force', '-c', config, '-w', workdir], dir);
  let record: ScaleRecord & { status: string; certificatesPerBatch: number; certificateEventBudget: number };
  try {
    const runs = readdirSync(join(workdir, 'runs')).sort();
    record = JSON.parse(
      readFileSync(join(workdir, 'runs', runs[runs.length - 1] as string, 'execution.json'), 'utf8'),
    ) as typeof record;
  } catch (error) {
    out(run.output.split('\n').slice(-20).join('\n'));
    violations.push(
      `the local run of 1,000 certificates exited ${run.code} and left no execution record: ${error instanceof Error ? error.message : String(error)}`,
    );
    out();
    return;
  }
  const issued = /^(\d+) issued, (\d+) failed/m.exec(run.output);
  const largestBatch = Math.max(...record.batches.map((b) => b.historyEvents));
  table(
    ['measure', 'value', 'limit'],
    [
      ['exit code, outcome', `${run.code}, ${issued ? `${issued[1]} issued, ${issued[2]} failed` : '?'}`, ''],
      ['wall / CPU / peak RSS', `${s(run.wallMs)} / ${s(run.cpuMs)} / ${run.maxRssMiB.toFixed(0)} MiB`, ''],
      ['run execution: history events (AWS-counted)', String(record.historyEvents), '25,000'],
      [
        `batch executions: ${record.batches.length} of up to ${record.certificatesPerBatch} certificates, most events in one`,
        String(largestBatch),
        '25,000',
      ],
      ['worst case per certificate at this timing (events)', String(record.certificateEventBudget), ''],
      [
        'largest state payload (bytes)',
        `${record.largestPayload.bytes} (${record.largestPayload.state})`,
        '262,144',
      ],
    ],
    true,
  );
  const found = scaleViolations(run.code, record);
  out(
    found.length === 0
      ? 'check: exit code 0, every execution within its limits'
      : `check FAILED: ${found.join('; ')}`,
  );
  violations.push(...found);
  out();
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dist = prebuiltRoot();
  if (!dist) throw new Error('run the compiled bench: npm run bench (it builds first)');
  const reps = Number(option('--reps') ?? 7);
  const bin = join(dist, 'bin', 'certflow.js');
  const cpu = cpus();
  out(
    `machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Linux ${release()}; Node.js ${process.version}; load average at start ${loadavg()[0].toFixed(2)}`,
  );
  out();
  const bundles = ensureFunctionBundles();
  if (only('bundles')) bundleSection(bundles);
  if (only('scale')) synthScaleSection();
  if (!only('cold') && !only('cli') && !only('scale')) return;

  const dir = mkdtempSync(join(tmpdir(), 'certflow-bench-'));
  const servers = await startServers(dir);
  try {
    const hosts = Array.from({ length: HOSTS }, (_, i) => `h${i}.${PRIMARY}`);
    const configs = {
      one: writeConfig(dir, servers, 'one', hosts.slice(0, 1)),
      ten: writeConfig(dir, servers, 'ten', hosts.slice(0, 10)),
      hundred: writeConfig(dir, servers, 'hundred', hosts.slice(0, 100)),
      thousand: writeConfig(dir, servers, 'thousand', hosts),
      // No _acme-challenge CNAME for this name: CreateOrder refuses it, RecordFailure reports it.
      failing: writeConfig(dir, servers, 'failing', [`nocname.${PRIMARY}`]),
    };
    if (only('scale')) await localScaleSection(bin, configs.thousand, dir);
    if (!only('cold') && !only('cli')) return;
    const cold = only('cold')
      ? await coldSection(bundles, configs, dir, Math.max(1, Math.ceil(reps / 2)))
      : undefined;
    if (!only('cli')) {
      targetsSection(bundles, cold, undefined);
      return;
    }

    const workdir = join(dir, 'cli');
    const local = (config: string) => ['local', '--external', '--force', '-c', config, '-w', workdir];
    // Not counted: creates the ACME account, as a first run anywhere does.
    await cliRun(bin, local(configs.one), dir);
    const cli = await cliSection(
      bin,
      [
        { label: 'certflow --help', args: ['--help'], runs: reps, expect: 0 },
        { label: 'local: 1 certificate', args: local(configs.one), runs: reps, expect: 0 },
        {
          label: 'local: 10 certificates',
          args: local(configs.ten),
          runs: Math.max(1, Math.ceil(reps / 2)),
          expect: 0,
        },
        { label: 'local: 100 certificates', args: local(configs.hundred), runs: 1, expect: 0 },
      ],
      dir,
    );
    out('maxConcurrency 4 (the default); Pebble with PEBBLE_AUTHZREUSE=0 (every order validates anew);');
    out("timing: 1 s intervals (the schema's minimum), so a Wait state costs a whole second of wall time.");
    out();
    targetsSection(bundles, cold, cli);
    out(`load average at the end: ${loadavg()[0].toFixed(2)} (other processes share these cores)`);
  } finally {
    await servers.pebble.stop().catch(() => undefined);
    await servers.bind.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main()
  .then(() => {
    if (violations.length === 0) return;
    process.stderr.write(`bench: FAILED\n${violations.map((v) => `  ${v}\n`).join('')}`);
    process.exitCode = 1;
  })
  .catch((error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
