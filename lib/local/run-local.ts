import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../lambdas/core/config/load';
import type { CertflowConfig } from '../../lambdas/core/config/schema';
import { formatServer, parseServerAddress, UdpDnsClient } from '../../lambdas/core/dns/dns-client';
import { ConfigError, describeError } from '../../lambdas/core/errors';
import type { ServerAddress } from '../../lambdas/core/ports';
import type { RunInput } from '../../lambdas/core/state';
import type { SummaryOutput } from '../../lambdas/core/steps/summarize';
import { ENV } from '../../lambdas/runtime/env';
import { renderLocalDefinition } from '../state-machine/render';
import { type BindServer, generateTsigSecret, startBind } from './bind';
import { DEMO } from './demo';
import { type EventLog, executeLocally } from './execute';
import { type PebbleServer, startPebble } from './pebble';
import { pickPort } from './ports';
import { ensureLocalPrerequisites } from './prerequisites';
import { ProgressPrinter } from './progress';

export interface LocalRunOptions {
  /** A certflow config file; default: the bundled demo (two certificates under example.test). */
  configFile?: string;
  /** Use the ACME directory and RFC 2136 server in the config instead of starting Pebble and BIND. */
  external?: boolean;
  /** Where certificates, account keys and run records go. @default ".certflow-local" */
  workdir?: string;
  force?: boolean;
  certificates?: string[];
  /** Install missing Debian packages when running as root. @default true */
  install?: boolean;
  out?: (line: string) => void;
}

export interface LocalRunResult {
  exitCode: number;
  summary?: SummaryOutput;
  runDirectory: string;
  historyFile: string;
  /**
   * Bundle of the Pebble roots that signed the certificates in this workdir (bundled Pebble only).
   * Pebble makes a new root at every start, so a certificate from an earlier run verifies only
   * against that run's root: the bundle keeps each root that issued something.
   */
  caRootFile?: string;
  durationMs: number;
}

/**
 * Local mode: start Pebble and BIND on loopback (unless `external`), render the definition the
 * stack deploys, run it on aws-local-stepfunctions with the real handlers, print one line per
 * state and a report, stop the servers. Exit code 0 only if no certificate failed.
 */
export async function runLocal(options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = Date.now();
  const workdir = resolve(options.workdir ?? '.certflow-local');
  const runId = new Date().toISOString().replace(/[:.]/g, '-');
  const runDirectory = join(workdir, 'runs', runId);
  mkdirSync(runDirectory, { recursive: true, mode: 0o700 });
  const historyFile = join(runDirectory, 'history.json');
  let bind: BindServer | undefined;
  let pebble: PebbleServer | undefined;
  let serverDir: string | undefined;
  let caRootFile: string | undefined;
  try {
    let config: CertflowConfig;
    let rawConfig: unknown;
    if (options.external) {
      if (!options.configFile)
        throw new ConfigError([{ path: '', message: '--external needs --config <file>' }]);
      rawConfig = readJson(options.configFile);
      config = parseConfig(rawConfig, options.configFile);
      out(`certflow local: using the servers in ${options.configFile} (nothing started)`);
    } else {
      await ensureLocalPrerequisites({ install: options.install ?? true, log: out });
      serverDir = mkdtempSync(join(tmpdir(), 'certflow-servers-'));
      const tsigSecret = generateTsigSecret();
      const tsigFile = join(serverDir, 'tsig.key');
      writeFileSync(tsigFile, `${tsigSecret}\n`, { mode: 0o600 });
      const dnsPort = await pickPort(DEMO.ports.dns, true);
      bind = await startBind({
        directory: join(serverDir, 'bind'),
        port: dnsPort,
        primaryZone: DEMO.primaryZone,
        delegatedZone: DEMO.delegatedZone,
        cnames: DEMO.delegatedNames.map((name) => ({
          name: `_acme-challenge.${name}`,
          target: `${name}.${DEMO.delegatedZone}`,
        })),
        tsig: { name: DEMO.tsigKeyName, algorithm: 'hmac-sha256', secret: tsigSecret },
      });
      const dns = `127.0.0.1:${bind.address.port}`;
      pebble = await startPebble({
        directory: join(serverDir, 'pebble'),
        port: await pickPort(DEMO.ports.acme),
        managementPort: await pickPort(DEMO.ports.acmeManagement),
        dnsServer: dns,
      });
      out(
        `certflow local: BIND on ${dns} (zones ${DEMO.primaryZone}, ${DEMO.delegatedZone}), Pebble at ${pebble.directoryUrl}`,
      );
      rawConfig = bundledConfig({ options, workdir, dns, tsigFile, pebble });
      config = parseConfig(
        rawConfig,
        options.configFile ? `${options.configFile} (with the bundled Pebble and BIND)` : 'the bundled demo',
      );
    }
    const effectiveConfigFile = join(runDirectory, 'config.json');
    writeFileSync(effectiveConfigFile, `${JSON.stringify(rawConfig, null, 2)}\n`);

    const definition = renderLocalDefinition({ maxConcurrency: config.renewal.maxConcurrency });
    writeFileSync(join(runDirectory, 'definition.asl.json'), `${JSON.stringify(definition, null, 2)}\n`);
    setLocalEnvironment({
      configFile: effectiveConfigFile,
      stateDirectory: join(workdir, 'state'),
      logFile: join(runDirectory, 'handlers.log'),
    });

    const input: RunInput = {};
    if (options.certificates?.length) input.certificates = options.certificates;
    if (options.force) input.force = true;
    const printer = new ProgressPrinter(out);
    const execution = await executeLocally(definition, input, (e) => printer.handle(e));
    writeFileSync(historyFile, `${JSON.stringify(execution.events, null, 2)}\n`);

    const summary = summaryFrom(execution.events);
    const nameservers = bind
      ? [bind.address]
      : (config.delegation.nameservers ?? []).map((n) => parseServerAddress(n));
    const leftovers = await leftoverTxtValues(execution.events, nameservers);
    writeFileSync(join(runDirectory, 'leftover-txt.json'), `${JSON.stringify(leftovers, null, 2)}\n`);
    if (pebble) {
      const root = await pebble.rootCertificatePem();
      writeFileSync(join(runDirectory, 'pebble-root.pem'), root);
      caRootFile = join(workdir, 'pebble-roots.pem');
      if ((summary?.issuedCount ?? 0) > 0) appendRoot(caRootFile, root);
    }
    report(out, config, summary, runLevelFailure(execution.events) ?? execution.failed, caRootFile);
    if (nameservers.length > 0) {
      out(
        leftovers.length === 0
          ? `delegated zone: no TXT value of this run remains (checked at ${nameservers.map(formatServer).join(', ')})`
          : `WARNING: ${leftovers.length} TXT value(s) of this run remain in the delegated zone: ${leftovers.map((l) => l.fqdn).join(', ')}`,
      );
    }
    const durationMs = Date.now() - started;
    out(`certflow local: run took ${(durationMs / 1000).toFixed(1)} s; history in ${historyFile}`);
    const exitCode =
      !summary ||
      summary.failedCount > 0 ||
      (execution.failed && execution.failed.Error !== 'CertificatesFailed')
        ? 1
        : 0;
    return { exitCode, summary, runDirectory, historyFile, caRootFile, durationMs };
  } catch (error) {
    if (error instanceof ConfigError) out(error.message);
    else out(`certflow local: ${describeError(error)}`);
    return {
      exitCode: error instanceof ConfigError ? 2 : 1,
      runDirectory,
      historyFile,
      durationMs: Date.now() - started,
    };
  } finally {
    await pebble?.stop().catch(() => undefined);
    await bind?.stop().catch(() => undefined);
    if (serverDir) rmSync(serverDir, { recursive: true, force: true });
  }
}

/** TXT values this run published that an authoritative server still answers (real queries). */
async function leftoverTxtValues(
  events: EventLog[],
  servers: ServerAddress[],
): Promise<{ fqdn: string; server: string }[]> {
  const records = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.type !== 'StateExited' || e.state.name !== 'CreateOrder') continue;
    const order = (e.state.output as { order?: { records?: { fqdn: string; value: string }[] } } | undefined)
      ?.order;
    for (const r of order?.records ?? []) {
      const values = records.get(r.fqdn) ?? new Set<string>();
      values.add(r.value);
      records.set(r.fqdn, values);
    }
  }
  const client = new UdpDnsClient({ timeoutMs: 1000, retries: 0 });
  const left: { fqdn: string; server: string }[] = [];
  for (const server of servers) {
    for (const [fqdn, values] of records) {
      const res = await client.query(server, fqdn, 'TXT', { recursionDesired: false }).catch(() => undefined);
      if (!res) continue; // an unreachable server has nothing to report; the others are still checked
      if (res.answers.some((a) => a.type === 'TXT' && values.has(a.data)))
        left.push({ fqdn, server: formatServer(server) });
    }
  }
  return left;
}

/** Add a root to the bundle once (verify with `openssl verify -CAfile <bundle> -untrusted chain.pem cert.pem`). */
function appendRoot(bundle: string, root: string): void {
  const current = existsSync(bundle) ? readFileSync(bundle, 'utf8') : '';
  const pem = `${root.trim()}\n`;
  if (!current.includes(pem)) writeFileSync(bundle, current + pem);
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError(
      [{ path: '', message: `cannot read ${file} as JSON: ${(cause as Error).message}` }],
      file,
    );
  }
}

/**
 * The config for the bundled servers: the demo certificates, or the user's, with the ACME,
 * DNS and delegation sections pointed at the local Pebble and BIND.
 */
function bundledConfig(args: {
  options: LocalRunOptions;
  workdir: string;
  dns: string;
  tsigFile: string;
  pebble: PebbleServer;
}): Record<string, unknown> {
  const { options, workdir, dns, tsigFile, pebble } = args;
  const user = options.configFile ? readJson(options.configFile) : {};
  const certificates =
    (user.certificates as { stores?: unknown }[] | undefined)?.map((c) => ({ ...c, stores: ['local'] })) ??
    DEMO.certificates;
  const raw = {
    acme: {
      directory: pebble.directoryUrl,
      email: DEMO.email,
      termsOfServiceAgreed: true,
      caBundleFile: pebble.caBundleFile,
    },
    delegation: { zone: DEMO.delegatedZone, domains: [DEMO.primaryZone], nameservers: [dns], resolver: dns },
    dns: {
      provider: 'rfc2136',
      server: dns,
      tsig: { name: DEMO.tsigKeyName, algorithm: 'hmac-sha256', secretFile: tsigFile },
    },
    renewal: user.renewal,
    timing: {
      propagationIntervalSeconds: 1,
      propagationMaxChecks: 30,
      orderIntervalSeconds: 1,
      orderMaxChecks: 60,
    },
    storage: { localDirectory: join(workdir, 'certs'), defaultStores: ['local'] },
    certificates,
  };
  return raw;
}

function setLocalEnvironment(env: { configFile: string; stateDirectory: string; logFile: string }): void {
  delete process.env[ENV.config];
  process.env[ENV.mode] = 'local';
  process.env[ENV.configFile] = env.configFile;
  process.env[ENV.stateDirectory] = env.stateDirectory;
  process.env[ENV.logFile] = env.logFile;
  mkdirSync(env.stateDirectory, { recursive: true, mode: 0o700 });
  chmodSync(env.stateDirectory, 0o700);
}

/** The first top-level state failure (SelectDue, Summarize), with the Lambda error message unwrapped. */
function runLevelFailure(events: EventLog[]): { Error: string; Cause: unknown } | undefined {
  const failed = events.find(
    (e) => e.type === 'StateFailed' && e.index === undefined && e.state.type === 'Task',
  );
  if (failed?.type !== 'StateFailed') return undefined;
  let cause: unknown = failed.Cause;
  try {
    cause = (JSON.parse(String(failed.Cause)) as { errorMessage?: string }).errorMessage ?? cause;
  } catch {
    // plain text
  }
  return { Error: `${failed.state.name} failed: ${failed.Error}`, Cause: cause };
}

function summaryFrom(
  events: { type: string; state?: { name: string; output?: unknown } }[],
): SummaryOutput | undefined {
  const exited = events.filter((e) => e.type === 'StateExited' && e.state?.name === 'Summarize').pop();
  return (exited?.state?.output as { summary?: SummaryOutput } | undefined)?.summary;
}

function report(
  out: (line: string) => void,
  config: CertflowConfig,
  summary: SummaryOutput | undefined,
  failed: { Error: string; Cause: unknown } | undefined,
  caRootFile: string | undefined,
): void {
  out('');
  if (!summary) {
    out(
      `certflow local: the run failed before its summary: ${failed?.Error}: ${String(failed?.Cause ?? '')}`,
    );
    return;
  }
  for (const cert of config.certificates) {
    const issued = summary.issued.find((i) => i.certificate === cert.name);
    const fail = summary.failed.find((f) => f.certificate === cert.name);
    const skip = summary.skipped.find((s) => s.certificate === cert.name);
    if (issued) {
      const meta = readLocalMetadata(issued.locations.find((l) => l.store === 'local')?.location);
      out(`ISSUED   ${cert.name}`);
      out(`  names:    ${cert.domains.join(', ')}`);
      out(`  key type: ${cert.keyType}`);
      out(`  issuer:   ${meta?.issuer ?? '?'}`);
      out(`  notAfter: ${issued.notAfter}`);
      for (const l of issued.locations)
        out(`  files:    ${l.location}/{cert,chain,fullchain,privkey}.pem (${l.store})`);
    } else if (fail) {
      out(`FAILED   ${cert.name} at ${fail.step}: ${fail.error}`);
      for (const line of fail.message.split('\n')) out(`  ${line}`);
    } else if (skip) {
      out(`NOT DUE  ${cert.name}: ${skip.reason}`);
    }
  }
  if (caRootFile) {
    out(`CA roots (every Pebble run that issued into this directory): ${caRootFile}`);
    const dir = summary.issued.flatMap((i) => i.locations).find((l) => l.store === 'local')?.location;
    if (dir)
      out(`verify:   openssl verify -CAfile ${caRootFile} -untrusted ${dir}/chain.pem ${dir}/cert.pem`);
  }
}

function readLocalMetadata(location: string | undefined): { issuer?: string } | undefined {
  if (!location) return undefined;
  try {
    return JSON.parse(readFileSync(join(location, 'metadata.json'), 'utf8')) as { issuer?: string };
  } catch {
    return undefined;
  }
}
