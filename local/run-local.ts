import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { assertRuntimeConfigUsable } from '../cli/config-checks';
import { LocalPendingRecordStore } from '../lambdas/adapters/pending/local-pending-records';
import { markExecutionEnded } from '../lambdas/adapters/pending/local-run-liveness';
import { parseConfig } from '../lambdas/core/config/load';
import type { CertflowConfig } from '../lambdas/core/config/schema';
import { ConfigError, describeError, errorText } from '../lambdas/core/errors';
import type { RunInput, SweepResult, TaskStep } from '../lambdas/core/state';
import type { SummaryOutput } from '../lambdas/core/steps/summarize';
import { baseContext } from '../lambdas/runtime/base-context';
import { ENV } from '../lambdas/runtime/env';
import { UNWRITABLE_EVENT, type UnwritableFile } from '../lambdas/runtime/observability';
import { executionEndedMessage } from '../lib/alerts/execution-ended';
import { ensureFunctionBundles } from '../lib/bundling/function-bundles';
import type { CertflowDefinitions } from '../lib/state-machine/asl';
import { certificateEventBudget, certificatesPerBatch } from '../lib/state-machine/limits';
import { STEP_SETTINGS } from '../lib/state-machine/step-settings';
import { type BindServer, generateTsigSecret, startBind } from './bind';
import { DEMO } from './demo';
import type { LocalExecution } from './execute';
import { hostProcess, LocalFunction, lambdaErrorFormatter } from './lambda-runtime';
import { type LeftoverCheck, leftoverLines, leftoverTxtValues } from './leftovers';
import { localDefinitions } from './local-definition';
import { type PebbleServer, startPebble } from './pebble';
import { pickPort } from './ports';
import { ensureLocalPrerequisites } from './prerequisites';
import { ProgressPrinter } from './progress';
import {
  dueReasonsFrom,
  failureMessagesFrom,
  issuersFrom,
  report,
  runLevelFailure,
  summaryFrom,
  sweepFrom,
  valuesLeftFrom,
} from './report';
import { type BatchExecution, executeRunWithBatches } from './run-with-batches';
import { createServerDirectory, removeAbandonedServerDirectories } from './server-directory';

export interface LocalRunOptions {
  /** A certflow config file; default: the bundled demo (two certificates under example.test). */
  configFile?: string;
  /** Use the ACME directory and RFC 2136 server in the config instead of starting Pebble and BIND. */
  external?: boolean;
  /** Where certificates, account keys and run records go. @default ".certflow-local" */
  workdir?: string;
  force?: boolean;
  /** Issue from the CA's staging directory (or the configured test CA) and store nothing. */
  dryRun?: boolean;
  certificates?: string[];
  /** Install missing Debian packages when running as root. @default true */
  install?: boolean;
  out?: (line: string) => void;
  /** Step Functions limits to enforce (tests lower them). @default AWS's */
  limits?: { historyEvents?: number; payloadBytes?: number };
  /**
   * Tests only: the definition each batch execution runs, in place of the batch state machine's
   * (a batch that fails as a whole in a way the test chooses). The run's definition, the
   * functions and the servers stay as they ship. @default the batch state machine's definition
   */
  batchDefinition?: CertflowDefinitions['batch'];
  /**
   * Stop the run on SIGINT/SIGTERM: the execution is stopped, the TXT values it published are
   * removed, the servers are stopped, and the exit code is 130 (SIGINT) or 143 (SIGTERM).
   * The CLI sets it. @default false
   */
  handleSignals?: boolean;
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
  /** How the execution ended, and its AWS-counted history events. */
  execution?: ExecutionRecord;
  /** The end-of-run check for TXT values of this run left in the delegated zone. */
  leftovers?: LeftoverCheck;
  /** Why the run could not be made (bad configuration, a server that would not start, …). */
  error?: { name: string; message: string };
}

/** What `execution.json` in the run directory records. */
export interface ExecutionRecord {
  executionArn: string;
  status: LocalExecution['status'];
  error?: string;
  /** AWS history events the run's execution used (counted as AWS counts them). */
  historyEvents: number;
  /** Each batch's execution: its status and history events. */
  batches: {
    name: string;
    /** The batch execution's ARN: the owner of the TXT values its certificates wrote. */
    executionArn: string;
    status?: string;
    historyEvents: number;
    certificates: number;
    largestPayload: number;
  }[];
  /** History events of each certificate's Map iteration, by certificate. */
  eventsPerCertificate: Record<string, number>;
  /** The planning figure at this timing: most events one certificate may use. */
  certificateEventBudget: number;
  /** Certificates per batch execution at this timing. */
  certificatesPerBatch: number;
  /** The largest state input/output of the run or any batch. */
  largestPayload: { bytes: number; state: string };
  /** Whose rules turned thrown errors into Lambda error responses. */
  errorFormatter: string;
}

/**
 * Exit codes of `certflow local` (and of runLocal's result), documented in docs/local-mode.md.
 * `valuesMayRemain`: every due certificate was issued, but TXT values of this run may remain in
 * the delegated zone (Cleanup failed after issuing, or a server could not be checked); they
 * stay recorded as pending and the next run removes them.
 */
export const EXIT_CODES = {
  ok: 0,
  failed: 1,
  badConfig: 2,
  valuesMayRemain: 3,
  interrupted: { SIGINT: 130, SIGTERM: 143 },
} as const;

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
  const historyFile = join(runDirectory, 'history.json');
  const workdirProblem = makeRunDirectory(workdir, runDirectory);
  if (workdirProblem) {
    out(`certflow local: ${workdirProblem}`);
    return {
      exitCode: EXIT_CODES.badConfig,
      runDirectory,
      historyFile,
      durationMs: Date.now() - started,
      error: { name: 'UsageError', message: workdirProblem },
    };
  }
  let bind: BindServer | undefined;
  let pebble: PebbleServer | undefined;
  let serverDir: string | undefined;
  let caRootFile: string | undefined;
  let restoreEnvironment: (() => void) | undefined;
  // Files of the run's record and the handlers' logs and metrics that could not be written (a
  // full work directory): never a failure of the run, each named in the report with its OS error.
  const unwritable = new Map<string, string>();
  const onUnwritable = ({ file, error }: UnwritableFile): void => {
    if (!unwritable.has(file)) unwritable.set(file, error);
  };
  const record = (file: string, write: () => void): void => {
    try {
      write();
    } catch (error) {
      onUnwritable({ file, error: errorText(error) });
    }
  };
  hostProcess().on(UNWRITABLE_EVENT, onUnwritable);
  try {
    let config: CertflowConfig;
    let rawConfig: unknown;
    if (options.external) {
      if (!options.configFile)
        throw new ConfigError([{ path: '', message: '--external needs --config <file>' }]);
      rawConfig = readJson(options.configFile);
      config = parseConfig(rawConfig, options.configFile);
      // What `certflow validate` checks (TSIG key file, store path), before any order is placed.
      assertRuntimeConfigUsable(config, options.configFile, hostProcess().env);
      out(`certflow local: using the servers in ${options.configFile} (nothing started)`);
    } else {
      await ensureLocalPrerequisites({ install: options.install ?? true, log: out });
      // A run killed outright left its server directory (and its TSIG key) behind: remove it.
      for (const gone of await removeAbandonedServerDirectories()) {
        out(`certflow local: removed ${gone}, left by a run that was killed`);
      }
      serverDir = createServerDirectory();
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
      const source = options.configFile
        ? `${options.configFile} (with the bundled Pebble and BIND)`
        : 'the bundled demo';
      config = parseConfig(rawConfig, source);
      assertRuntimeConfigUsable(config, source, hostProcess().env);
    }
    const effectiveConfigFile = join(runDirectory, 'config.json');
    writeNaming(effectiveConfigFile, `${JSON.stringify(rawConfig, null, 2)}\n`);

    const shipped = localDefinitions({
      maxConcurrency: config.renewal.maxConcurrency,
      batchConcurrency: config.renewal.batchConcurrency,
    });
    const definitions = options.batchDefinition ? { ...shipped, batch: options.batchDefinition } : shipped;
    writeNaming(join(runDirectory, 'definition.asl.json'), `${JSON.stringify(definitions, null, 2)}\n`);
    const stateDirectory = join(workdir, 'state');
    restoreEnvironment = setLocalEnvironment({
      configFile: effectiveConfigFile,
      stateDirectory,
      logFile: join(runDirectory, 'handlers.log'),
      metricsFile: join(runDirectory, 'metrics.jsonl'),
    });
    // The deployed bundles, each loaded afresh (a cold start per run), as Lambda would run them.
    const bundles = ensureFunctionBundles();
    const functions = Object.fromEntries(
      Object.values(bundles).map((b) => [b.step, new LocalFunction(b, STEP_SETTINGS[b.step].timeoutSeconds)]),
    ) as Record<TaskStep, LocalFunction>;

    const input: RunInput = {};
    if (options.certificates?.length) input.certificates = options.certificates;
    if (options.force) input.force = true;
    if (options.dryRun) input.dryRun = true;
    const printer = new ProgressPrinter(out);
    const executionName = `local-${runId}`;
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:certflow-local:${executionName}`;
    const stop = new AbortController();
    let interrupted: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (interrupted) return;
      interrupted = signal;
      out(`certflow local: ${signal}: stopping the run and removing the TXT values it published`);
      stop.abort();
      // Requests in flight (a CA that does not answer) are abandoned now, not at their timeout.
      for (const f of Object.values(functions)) f.abortRunning();
    };
    if (options.handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    // Each batch is its own execution (as the run's RunBatch Task starts them on AWS), with its
    // own history, counted and limited on its own.
    let batches: BatchExecution[] = [];
    let execution: LocalExecution;
    try {
      ({ execution, batches } = await executeRunWithBatches(definitions, input, {
        functions,
        execution: { name: executionName, arn: executionArn },
        onEvent: (e) => printer.handle(e),
        onBatch: (batch, i) => {
          const batchPrinter = printer.forBatch(batch.certificates, `batch ${i + 1}`);
          return (e) => batchPrinter.handle(e);
        },
        limits: options.limits,
        signal: stop.signal,
      }));
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    // An invocation abandoned at its timeout runs on in this process (Lambda would have frozen
    // it): let it end before the sweep and the leftover check, so what it wrote is seen.
    await Promise.all(Object.values(functions).map((f) => f.drain()));
    // These executions are over: a later run may sweep what they left (even in this process).
    // (Where a mark cannot be written, the next run still finds the run over: its process is gone.)
    const endedMarks = join(stateDirectory, 'executions-ended');
    record(endedMarks, () => markExecutionEnded(stateDirectory, executionArn, execution.status));
    for (const b of batches) {
      record(endedMarks, () => markExecutionEnded(stateDirectory, b.arn, b.execution?.status ?? 'ABORTED'));
    }
    if (interrupted) {
      // The same sweep a later run would do, for the values this run's batches wrote, now.
      let n = 0;
      for (const batch of batches) {
        const swept = (await functions.Cleanup.invoke({
          sweep: true,
          executionId: `${executionArn}:interrupted`,
          alsoOver: batch.arn,
        })) as unknown as SweepResult;
        n += swept.removed.reduce((sum, r) => sum + r.values, 0);
      }
      out(`certflow local: removed ${n} TXT value(s) this run had published`);
    }
    // history.json: the run's events, then each batch's; each names its execution (`execution`:
    // its ARN), so the file splits into the histories AWS keeps per execution.
    const allEvents = [
      ...execution.events.map((e) => ({ ...e, execution: executionArn })),
      ...batches.flatMap((b) => (b.execution?.events ?? []).map((e) => ({ ...e, execution: b.arn }))),
    ];
    // The run's record: what it writes from here on is best effort (the outcome is decided).
    record(historyFile, () => writeFileSync(historyFile, `${JSON.stringify(allEvents, null, 2)}\n`));
    const executionRecordValue = executionRecord(execution, executionArn, batches, config.timing);
    const executionFile = join(runDirectory, 'execution.json');
    record(executionFile, () =>
      writeFileSync(executionFile, `${JSON.stringify(executionRecordValue, null, 2)}\n`),
    );
    if (execution.status !== 'SUCCEEDED') {
      record(join(stateDirectory, 'alerts.jsonl'), () =>
        alertExecutionEnded(stateDirectory, executionName, executionArn, execution),
      );
    }

    const summary = summaryFrom(execution.events);
    const leftovers = await leftoverTxtValues(
      allEvents,
      () => (bind ? Promise.resolve([bind.address]) : baseContext(config).authoritativeServers()),
      {
        store: new LocalPendingRecordStore({ directory: stateDirectory }),
        executions: [executionArn, ...batches.map((b) => b.arn)],
      },
    );
    const leftoverFile = join(runDirectory, 'leftover-txt.json');
    record(leftoverFile, () => writeFileSync(leftoverFile, `${JSON.stringify(leftovers, null, 2)}\n`));
    if (pebble) {
      const root = await pebble.rootCertificatePem();
      const rootFile = join(runDirectory, 'pebble-root.pem');
      record(rootFile, () => writeFileSync(rootFile, root));
      const bundle = join(workdir, 'pebble-roots.pem');
      caRootFile = bundle;
      if ((summary?.issuedCount ?? 0) > 0) record(bundle, () => appendRoot(bundle, root));
    }
    report(out, config, summary, runLevelFailure(execution.events) ?? execution.failed, caRootFile, {
      reasons: dueReasonsFrom(execution.events),
      failureMessages: failureMessagesFrom(allEvents),
      valuesLeft: valuesLeftFrom(allEvents),
      issuers: issuersFrom(allEvents),
      sweep: sweepFrom(execution.events),
    });
    printHistoryUse(out, execution, batches, config.timing);
    for (const line of leftoverLines(leftovers)) out(line);
    for (const [file, error] of unwritable) {
      out(`WARNING: could not write ${file} (${error}); the outcome above stands, that record is incomplete`);
    }
    const durationMs = Date.now() - started;
    out(`certflow local: run took ${(durationMs / 1000).toFixed(1)} s; history in ${historyFile}`);
    const exitCode = interrupted
      ? EXIT_CODES.interrupted[interrupted === 'SIGTERM' ? 'SIGTERM' : 'SIGINT']
      : !summary ||
          summary.failedCount > 0 ||
          (execution.status !== 'SUCCEEDED' && execution.failed?.Error !== 'CertificatesFailed')
        ? EXIT_CODES.failed
        : summary.warningCount > 0 ||
            leftovers.left.length > 0 ||
            leftovers.unchecked.length > 0 ||
            leftovers.unanswered.length > 0
          ? EXIT_CODES.valuesMayRemain
          : EXIT_CODES.ok;
    return {
      exitCode,
      summary,
      runDirectory,
      historyFile,
      caRootFile,
      durationMs,
      execution: executionRecordValue,
      leftovers,
    };
  } catch (error) {
    if (error instanceof ConfigError) out(error.message);
    else out(`certflow local: ${describeError(error)}`);
    return {
      exitCode: error instanceof ConfigError ? EXIT_CODES.badConfig : EXIT_CODES.failed,
      runDirectory,
      historyFile,
      durationMs: Date.now() - started,
      error: {
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof ConfigError ? error.message : describeError(error),
      },
    };
  } finally {
    hostProcess().off(UNWRITABLE_EVENT, onUnwritable);
    restoreEnvironment?.();
    await pebble?.stop().catch(() => undefined);
    await bind?.stop().catch(() => undefined);
    if (serverDir) rmSync(serverDir, { recursive: true, force: true });
  }
}

/**
 * Create the run's directory under `--workdir`; why it cannot be made (the work directory, or a
 * directory above it, is a file; no permission), naming the option and the fix, else undefined.
 */
function makeRunDirectory(workdir: string, runDirectory: string): string | undefined {
  try {
    mkdirSync(runDirectory, { recursive: true, mode: 0o700 });
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      return `--workdir ${workdir}: it, or a directory above it, is a file, not a directory (${errorText(error)}); point --workdir at a directory (it is created if missing)`;
    }
    return `--workdir ${workdir}: cannot create the run directory ${runDirectory} (${errorText(error)}); point --workdir at a directory you can write`;
  }
}

/** Write a file the run needs, an error naming the file if it cannot (Node's write errors do not). */
function writeNaming(file: string, data: string): void {
  try {
    writeFileSync(file, data);
  } catch (error) {
    throw new Error(`cannot write ${file}: ${errorText(error)}`, { cause: error });
  }
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

/**
 * The functions' environment, set on the host process (the bundles run in the host realm, as a
 * function reads its own process environment).
 */
function setLocalEnvironment(env: {
  configFile: string;
  stateDirectory: string;
  logFile: string;
  metricsFile: string;
}): () => void {
  const target = hostProcess().env;
  const keys = [ENV.config, ENV.mode, ENV.configFile, ENV.stateDirectory, ENV.logFile, ENV.metricsFile];
  const saved = Object.fromEntries(keys.map((k) => [k, target[k]]));
  delete target[ENV.config];
  target[ENV.mode] = 'local';
  target[ENV.configFile] = env.configFile;
  target[ENV.stateDirectory] = env.stateDirectory;
  target[ENV.logFile] = env.logFile;
  target[ENV.metricsFile] = env.metricsFile;
  mkdirSync(env.stateDirectory, { recursive: true, mode: 0o700 });
  chmodSync(env.stateDirectory, 0o700);
  // The caller's environment as it was, once the run is over.
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete target[k];
      else target[k] = v;
    }
  };
}

function executionRecord(
  execution: LocalExecution,
  executionArn: string,
  batches: BatchExecution[],
  timing: CertflowConfig['timing'],
): ExecutionRecord {
  const perCertificate: Record<string, number> = {};
  let largest = execution.history.largestPayload;
  for (const b of batches) {
    for (const [index, events] of b.execution?.history.perIteration ?? []) {
      perCertificate[b.certificates[index] ?? `${b.name}#${index}`] = events;
    }
    const l = b.execution?.history.largestPayload;
    if (l && l.bytes > largest.bytes) largest = { bytes: l.bytes, state: `${l.state} (${b.name})` };
  }
  return {
    executionArn,
    status: execution.status,
    ...(execution.failed ? { error: `${execution.failed.Error}: ${String(execution.failed.Cause)}` } : {}),
    historyEvents: execution.history.total,
    batches: batches.map((b) => ({
      name: b.name,
      executionArn: b.arn,
      status: b.execution?.status,
      historyEvents: b.execution?.history.total ?? 0,
      certificates: b.certificates.length,
      largestPayload: b.execution?.history.largestPayload.bytes ?? 0,
    })),
    eventsPerCertificate: perCertificate,
    certificateEventBudget: certificateEventBudget(timing),
    certificatesPerBatch: certificatesPerBatch(timing),
    largestPayload: largest,
    errorFormatter: lambdaErrorFormatter().source,
  };
}

/** One line on the history events the run used, as AWS counts them, and what that allows. */
function printHistoryUse(
  out: (line: string) => void,
  execution: LocalExecution,
  batches: BatchExecution[],
  timing: CertflowConfig['timing'],
): void {
  const per = batches.flatMap((b) => [...(b.execution?.history.perIteration.values() ?? [])]);
  const most = per.length > 0 ? Math.max(...per) : 0;
  const batchEvents = batches.map((b) => b.execution?.history.total ?? 0);
  const largest = [
    execution.history.largestPayload.bytes,
    ...batches.map((b) => b.execution?.history.largestPayload.bytes ?? 0),
  ];
  out(
    `history: run ${execution.history.total} events${batches.length > 0 ? `, ${batches.length} batch execution(s) of at most ${Math.max(...batchEvents)} events` : ''} (AWS-counted)${per.length > 0 ? `, at most ${most} per certificate` : ''}; at this timing a certificate may use up to ${certificateEventBudget(timing)}, so a batch holds ${certificatesPerBatch(timing)} certificates; largest payload ${Math.max(...largest)} bytes`,
  );
}

/**
 * What the stack's EventBridge rule does when an execution ends FAILED, TIMED_OUT or ABORTED:
 * one alert with the same message (lib/alerts/execution-ended.ts), here to the local alert file.
 */
function alertExecutionEnded(
  stateDirectory: string,
  name: string,
  executionArn: string,
  execution: LocalExecution,
): void {
  const message = executionEndedMessage({
    name,
    status: execution.status,
    executionArn,
    stateMachineArn: executionArn.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, ''),
    stopDate: new Date().toISOString(),
  });
  appendFileSync(
    join(stateDirectory, 'alerts.jsonl'),
    `${JSON.stringify({ time: new Date().toISOString(), type: 'execution-ended', status: execution.status, error: execution.failed?.Error, message })}\n`,
  );
}
