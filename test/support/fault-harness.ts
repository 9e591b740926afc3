/**
 * What the end-to-end fault tests share: a real BIND and Pebble on loopback, a work directory, a
 * config writer for `certflow local --external`, in-process runs (runLocal) and runs of the CLI
 * as a child process (for the faults that need a process to be killed or interrupted), and
 * readers for what a user sees afterwards (alerts.jsonl, the pending values, the zone).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type LocalRunResult, runLocal } from '../../local/run-local';
import { startTestBind, type TestBind } from './bind-fixture';
import { opensslVerify } from './certificates';
import { checkIssuedCliRun } from './issued-check';
import { startTestPebble, type TestPebble } from './pebble-fixture';

const REPO = resolve(__dirname, '..', '..');

export interface Certificate {
  name: string;
  domains: string[];
}

export interface FaultServers {
  bind: TestBind;
  pebble: TestPebble;
  workdir: string;
  tsigFile: string;
  /** `127.0.0.1:<BIND's port>`. */
  dns: string;
  stop(): Promise<void>;
}

/** The `_acme-challenge` CNAME of `name` (under example.test) into the delegated zone, as the demo zone has them. */
export const cnameFor = (name: string) => ({
  name: `_acme-challenge.${name}`,
  target: `${name}.acme.certflow.test`,
});

/**
 * BIND (demo zones plus `extraNames`' CNAMEs) and Pebble (no authorization reuse, so every order
 * publishes and removes its own values; `pebbleEnv` on top), and a fresh work directory.
 */
export async function startFaultServers(
  opts: { extraNames?: string[]; pebbleEnv?: Record<string, string>; workdirPrefix?: string } = {},
): Promise<FaultServers> {
  const workdir = mkdtempSync(join(tmpdir(), opts.workdirPrefix ?? 'certflow-faults-'));
  const bind = await startTestBind({ extraCnames: (opts.extraNames ?? []).map(cnameFor) });
  let pebble: TestPebble;
  try {
    pebble = await startTestPebble({
      dnsServer: `127.0.0.1:${bind.address.port}`,
      env: { PEBBLE_AUTHZREUSE: '0', ...opts.pebbleEnv },
    });
  } catch (error) {
    await bind.stop();
    throw error;
  }
  const tsigFile = join(workdir, 'tsig.key');
  writeFileSync(tsigFile, `${bind.tsig.secret}\n`, { mode: 0o600 });
  return {
    bind,
    pebble,
    workdir,
    tsigFile,
    dns: `127.0.0.1:${bind.address.port}`,
    async stop() {
      await pebble.stop();
      await bind.stop();
    },
  };
}

export interface ConfigOptions {
  certificates: Certificate[];
  /** The RFC 2136 server to send UPDATEs to. @default BIND */
  updateServer?: string;
  /** Authoritative servers checked for propagation and leftovers. @default [BIND] */
  nameservers?: string[];
  /** The ACME directory. @default Pebble's */
  directory?: string;
  /** The CA bundle trusted for the directory's TLS. @default Pebble's */
  caBundleFile?: string;
  timing?: Partial<{
    propagationIntervalSeconds: number;
    propagationMaxChecks: number;
    orderIntervalSeconds: number;
    orderMaxChecks: number;
  }>;
  maxConcurrency?: number;
  /** `renewal.newOrderLimit`. @default none (Pebble has no known limit) */
  newOrderLimit?: { orders: number; windowMinutes: number };
  /** Where the local store writes. @default `<workdir>/certs` */
  storeDirectory?: string;
  /** `acme.requestTimeoutSeconds`. @default unset (the transport's 10 s) */
  requestTimeoutSeconds?: number;
}

/** Write `<workdir>/<name>.json`, a config for `certflow local --external` against these servers. */
export function writeConfig(s: FaultServers, name: string, o: ConfigOptions): string {
  const file = join(s.workdir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        acme: {
          directory: o.directory ?? s.pebble.directoryUrl,
          email: 'ops@example.test',
          termsOfServiceAgreed: true,
          caBundleFile: o.caBundleFile ?? s.pebble.caBundleFile,
          ...(o.requestTimeoutSeconds ? { requestTimeoutSeconds: o.requestTimeoutSeconds } : {}),
        },
        delegation: {
          zone: s.bind.delegatedZone,
          domains: [s.bind.primaryZone],
          nameservers: o.nameservers ?? [s.dns],
          resolver: s.dns,
        },
        dns: {
          provider: 'rfc2136',
          server: o.updateServer ?? s.dns,
          tsig: { name: s.bind.tsig.name, algorithm: 'hmac-sha256', secretFile: s.tsigFile },
        },
        timing: {
          propagationIntervalSeconds: 1,
          propagationMaxChecks: 10,
          orderIntervalSeconds: 1,
          orderMaxChecks: 30,
          ...o.timing,
        },
        renewal: {
          useAri: false,
          ...(o.maxConcurrency ? { maxConcurrency: o.maxConcurrency } : {}),
          ...(o.newOrderLimit ? { newOrderLimit: o.newOrderLimit } : {}),
        },
        storage: { localDirectory: o.storeDirectory ?? join(s.workdir, 'certs'), defaultStores: ['local'] },
        certificates: o.certificates,
      },
      null,
      2,
    ),
  );
  return file;
}

export interface InProcessRun {
  result: LocalRunResult;
  lines: string[];
  text: string;
}

/** `certflow local --external` in this process; `onLine` sees each line as it is printed. */
export async function runInProcess(
  s: FaultServers,
  configFile: string,
  opts: { force?: boolean; certificates?: string[]; onLine?: (line: string) => void; workdir?: string } = {},
): Promise<InProcessRun> {
  const lines: string[] = [];
  const result = await runLocal({
    workdir: opts.workdir ?? s.workdir,
    configFile,
    external: true,
    force: opts.force,
    certificates: opts.certificates,
    out: (line) => {
      lines.push(line);
      opts.onLine?.(line);
    },
  });
  return { result, lines, text: lines.join('\n') };
}

/** A `certflow` CLI child process, in its own process group (as a shell runs a command). */
export interface CliRun {
  child: ChildProcess;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern` (rejects if the process exits first). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /**
   * Send `signal` to its whole process group, as a terminal sends Ctrl-C (SIGINT) to the
   * foreground job, or as `kill -9 -<pgid>` kills it.
   */
  signal(signal: NodeJS.Signals): void;
  /** Resolves when it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runningClis = new Set<CliRun>();

/**
 * `bin/certflow.ts <args>` as a child process, as an operator runs it, with the test's
 * environment minus certflow's own variables, plus `env`. It runs as one node process with tsx's
 * hooks (`node --require tsx/cjs --import tsx/esm`), not under the `tsx` command: on SIGINT and
 * SIGTERM that command gives its child 30 ms to acknowledge over IPC, then 30 ms more, then
 * SIGKILLs it (tsx 4 `relaySignalToChild`), so a busy run would be killed, not interrupted.
 */
export function startCli(args: string[], env: Record<string, string> = {}): CliRun {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CERTFLOW_')));
  const child = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', '--import', 'tsx/esm', join(REPO, 'bin', 'certflow.ts'), ...args],
    {
      cwd: REPO,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let stdout = '';
  let stderr = '';
  let hasExited = false;
  const watchers = new Set<() => void>();
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of [...watchers]) w();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.on('exit', (code, signal) => {
      hasExited = true;
      done({ code, signal });
      for (const w of [...watchers]) w();
    });
  }).then(async (ended) => {
    // After every successful `certflow local`, as after an in-process run: each certificate it
    // reports ISSUED verifies against the CA's root and matches its key (issued-check.ts).
    if (ended.code === 0) await checkIssuedCliRun({ args, cwd: REPO, stdout });
    return ended;
  });
  const run: CliRun = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    signal(signal) {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group is gone already
      }
    },
    waitForLine(pattern, timeoutMs = 90_000) {
      return new Promise((done, fail) => {
        const check = (): void => {
          const line = stdout.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            clearTimeout(timer);
            watchers.delete(check);
            done(line);
          } else if (hasExited) {
            clearTimeout(timer);
            watchers.delete(check);
            fail(
              new Error(`exited before a line matching ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`),
            );
          }
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          fail(
            new Error(
              `no line matching ${pattern} within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
        }, timeoutMs);
        watchers.add(check);
        check();
      });
    },
  };
  runningClis.add(run);
  void exited.then(() => runningClis.delete(run));
  return run;
}

/** SIGKILL every CLI child still running (for afterAll: a failed test leaves nothing behind). */
export async function killClis(): Promise<void> {
  const all = [...runningClis];
  for (const run of all) run.signal('SIGKILL');
  await Promise.all(all.map((r) => r.exited));
}

/** Every alert local mode wrote (`<workdir>/state/alerts.jsonl`), oldest first. */
export function alerts(workdir: string): Record<string, unknown>[] {
  const file = join(workdir, 'state', 'alerts.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The TXT values recorded as pending (written, not yet removed) in the work directory. */
export function pendingValues(workdir: string): { fqdn: string; value: string; certificate: string }[] {
  const dir = join(workdir, 'state', 'pending');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map(
      (f) =>
        JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
          fqdn: string;
          value: string;
          certificate: string;
        },
    );
}

/** The AXFR of the delegated zone as `name=value` strings, sorted (for comparing sets). */
export async function zoneValues(bind: TestBind): Promise<string[]> {
  return (await bind.axfrTxt()).map((r) => `${r.name}=${r.value}`).sort();
}

/** How many values per name, from an AXFR or a pending list. */
export function countByName(records: { name?: string; fqdn?: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) {
    const name = (r.fqdn ?? r.name ?? '').replace(/\.$/, '');
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** `openssl verify` of `<workdir>/certs/live/<name>` against the running Pebble's root. */
export async function verifyLive(s: FaultServers, name: string): Promise<string> {
  const root = join(s.workdir, 'pebble-root.pem');
  writeFileSync(root, await s.pebble.rootCertificatePem());
  return opensslVerify(root, join(s.workdir, 'certs', 'live', name));
}

/** `n value` / `n values`, as certflow's reports count them. */
export const valuesText = (n: number): string => `${n} value${n === 1 ? '' : 's'}`;

/**
 * What a run wrote and did not remove, counted by name, read from its own pending records (the
 * record is made before the value is written). Tests compare reports with this rather than with
 * fixed numbers: Pebble reuses a valid authorization now and then even with
 * `PEBBLE_AUTHZREUSE=0` (its check is `rand.Intn(100) > percent`), and a reused authorization
 * needs no TXT value.
 */
export function writtenByName(workdir: string): Record<string, number> {
  return countByName(pendingValues(workdir));
}
