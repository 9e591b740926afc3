import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LocalPendingRecordStore } from '../lambdas/adapters/pending/local-pending-records';
import type { CertflowConfig } from '../lambdas/core/config/schema';
import { ConfigError, describeError } from '../lambdas/core/errors';
import type { RunInput, TaskStep } from '../lambdas/core/state';
import type { SummaryOutput } from '../lambdas/core/steps/summarize';
import { baseContext } from '../lambdas/runtime/base-context';
import type { CertflowDefinitions } from '../lib/state-machine/asl';
import type { LocalExecution } from './execute';
import type { LocalFunction } from './lambda-runtime';
import { type LeftoverCheck, leftoverLines, leftoverTxtValues } from './leftovers';
import { localDefinitions } from './local-definition';
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
import { bundledServersConfig, externalConfig } from './run/config';
import { loadFunctions, setLocalEnvironment } from './run/environment';
import { EXIT_CODES, exitCode, printHistoryUse } from './run/outcome';
import {
  alertExecutionEnded,
  allHistoryEvents,
  appendRoot,
  BestEffortRecords,
  type ExecutionRecord,
  executionRecord,
  makeRunDirectory,
  markExecutionsEnded,
  type RunPaths,
  runPaths,
  writeNaming,
} from './run/records';
import { BundledServers } from './run/servers';
import { Interruption, sweepInterrupted } from './run/signals';
import { type BatchExecution, executeRunWithBatches } from './run-with-batches';

export { EXIT_CODES } from './run/outcome';
export type { ExecutionRecord } from './run/records';

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

/**
 * Local mode: start Pebble and BIND on loopback (unless `external`), render the definition the
 * stack deploys, run it on aws-local-stepfunctions with the real handlers, print one line per
 * state and a report, stop the servers. Exit code 0 only if no certificate failed.
 */
export async function runLocal(options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = Date.now();
  const paths = runPaths(resolve(options.workdir ?? '.certflow-local'));
  const workdirProblem = makeRunDirectory(paths.workdir, paths.runDirectory);
  if (workdirProblem) {
    out(`certflow local: ${workdirProblem}`);
    return notMade(paths, started, EXIT_CODES.badConfig, { name: 'UsageError', message: workdirProblem });
  }
  const servers = new BundledServers();
  const records = new BestEffortRecords();
  let restoreEnvironment: (() => void) | undefined;
  records.listen();
  try {
    const { config, raw } = options.external
      ? externalConfig(options.configFile, out)
      : bundledServersConfig({
          configFile: options.configFile,
          workdir: paths.workdir,
          servers: await servers.start(options.install ?? true, out),
        });
    const configFile = join(paths.runDirectory, 'config.json');
    writeNaming(configFile, `${JSON.stringify(raw, null, 2)}\n`);
    const shipped = localDefinitions({
      maxConcurrency: config.renewal.maxConcurrency,
      batchConcurrency: config.renewal.batchConcurrency,
    });
    const definitions = options.batchDefinition ? { ...shipped, batch: options.batchDefinition } : shipped;
    writeNaming(join(paths.runDirectory, 'definition.asl.json'), `${JSON.stringify(definitions, null, 2)}\n`);
    restoreEnvironment = setLocalEnvironment(paths, configFile);
    const functions = loadFunctions();
    const run = await execute(definitions, functions, paths, options, out);
    await afterExecutions(run, functions, paths, records, out);
    const execution = recordRun(run, paths, records, config);
    const summary = summaryFrom(run.execution.events);
    const leftovers = await checkLeftovers(run, paths, records, config, servers);
    const caRootFile = await keepPebbleRoot(servers, paths, records, summary);
    reportRun(out, run, config, summary, caRootFile, leftovers, records);
    const durationMs = Date.now() - started;
    out(`certflow local: run took ${(durationMs / 1000).toFixed(1)} s; history in ${paths.historyFile}`);
    return {
      exitCode: exitCode({ interrupted: run.interrupted, summary, execution: run.execution, leftovers }),
      summary,
      runDirectory: paths.runDirectory,
      historyFile: paths.historyFile,
      caRootFile,
      durationMs,
      execution,
      leftovers,
    };
  } catch (error) {
    if (error instanceof ConfigError) out(error.message);
    else out(`certflow local: ${describeError(error)}`);
    return notMade(paths, started, error instanceof ConfigError ? EXIT_CODES.badConfig : EXIT_CODES.failed, {
      name: error instanceof Error ? error.name : 'Error',
      message: error instanceof ConfigError ? error.message : describeError(error),
    });
  } finally {
    records.close();
    restoreEnvironment?.();
    await servers.stop();
  }
}

/** The result of a run that could not be made. */
function notMade(
  paths: RunPaths,
  started: number,
  code: number,
  error: { name: string; message: string },
): LocalRunResult {
  return {
    exitCode: code,
    runDirectory: paths.runDirectory,
    historyFile: paths.historyFile,
    durationMs: Date.now() - started,
    error,
  };
}

/** The run's execution and its batches' as they ended, and the signal that stopped them, if any. */
interface ExecutedRun {
  executionName: string;
  executionArn: string;
  execution: LocalExecution;
  batches: BatchExecution[];
  interrupted: NodeJS.Signals | undefined;
  /** Every history event: the run's, then each batch's, each naming its execution's ARN. */
  allEvents: ReturnType<typeof allHistoryEvents>;
}

/**
 * Run the definition: the run's execution, and each batch as its own execution (as the run's
 * RunBatch Task starts them on AWS), with its own history, counted and limited on its own.
 */
async function execute(
  definitions: ReturnType<typeof localDefinitions>,
  functions: Record<TaskStep, LocalFunction>,
  paths: RunPaths,
  options: LocalRunOptions,
  out: (line: string) => void,
): Promise<ExecutedRun> {
  const input: RunInput = {};
  if (options.certificates?.length) input.certificates = options.certificates;
  if (options.force) input.force = true;
  if (options.dryRun) input.dryRun = true;
  const printer = new ProgressPrinter(out);
  const executionName = `local-${paths.runId}`;
  const executionArn = `arn:aws:states:us-east-1:000000000000:execution:certflow-local:${executionName}`;
  const interruption = new Interruption(functions, out);
  interruption.listen(options.handleSignals);
  try {
    const { execution, batches } = await executeRunWithBatches(definitions, input, {
      functions,
      execution: { name: executionName, arn: executionArn },
      onEvent: (e) => printer.handle(e),
      onBatch: (batch, i) => {
        const batchPrinter = printer.forBatch(batch.certificates, `batch ${i + 1}`);
        return (e) => batchPrinter.handle(e);
      },
      limits: options.limits,
      signal: interruption.signal,
    });
    return {
      executionName,
      executionArn,
      execution,
      batches,
      interrupted: interruption.interrupted,
      allEvents: allHistoryEvents(execution, executionArn, batches),
    };
  } finally {
    interruption.close();
  }
}

/**
 * Once the executions are over: invocations abandoned at their timeout end, the executions are
 * marked ended, and an interrupted run removes the TXT values it published.
 */
async function afterExecutions(
  run: ExecutedRun,
  functions: Record<TaskStep, LocalFunction>,
  paths: RunPaths,
  records: BestEffortRecords,
  out: (line: string) => void,
): Promise<void> {
  // An invocation abandoned at its timeout runs on in this process (Lambda would have frozen
  // it): let it end before the sweep and the leftover check, so what it wrote is seen.
  await Promise.all(Object.values(functions).map((f) => f.drain()));
  markExecutionsEnded(records, paths.stateDirectory, run.executionArn, run.execution, run.batches);
  if (run.interrupted) await sweepInterrupted(functions, run.executionArn, run.batches, out);
}

/**
 * The run's record (history.json, execution.json, the execution-ended alert): best effort from
 * here on, the outcome is decided.
 */
function recordRun(
  run: ExecutedRun,
  paths: RunPaths,
  records: BestEffortRecords,
  config: CertflowConfig,
): ExecutionRecord {
  const { historyFile, runDirectory, stateDirectory } = paths;
  records.record(historyFile, () =>
    writeFileSync(historyFile, `${JSON.stringify(run.allEvents, null, 2)}\n`),
  );
  const value = executionRecord(run.execution, run.executionArn, run.batches, config.timing);
  const executionFile = join(runDirectory, 'execution.json');
  records.record(executionFile, () => writeFileSync(executionFile, `${JSON.stringify(value, null, 2)}\n`));
  if (run.execution.status !== 'SUCCEEDED') {
    records.record(join(stateDirectory, 'alerts.jsonl'), () =>
      alertExecutionEnded(stateDirectory, run.executionName, run.executionArn, run.execution),
    );
  }
  return value;
}

/** TXT values of this run left in the delegated zone, asked of its servers; recorded in leftover-txt.json. */
async function checkLeftovers(
  run: ExecutedRun,
  paths: RunPaths,
  records: BestEffortRecords,
  config: CertflowConfig,
  servers: BundledServers,
): Promise<LeftoverCheck> {
  const bind = servers.bind;
  const leftovers = await leftoverTxtValues(
    run.allEvents,
    () => (bind ? Promise.resolve([bind.address]) : baseContext(config).authoritativeServers()),
    {
      store: new LocalPendingRecordStore({ directory: paths.stateDirectory }),
      executions: [run.executionArn, ...run.batches.map((b) => b.arn)],
    },
  );
  const leftoverFile = join(paths.runDirectory, 'leftover-txt.json');
  records.record(leftoverFile, () => writeFileSync(leftoverFile, `${JSON.stringify(leftovers, null, 2)}\n`));
  return leftovers;
}

/** The bundled Pebble's root, kept in the run and (when it issued) the work directory's bundle. */
async function keepPebbleRoot(
  servers: BundledServers,
  paths: RunPaths,
  records: BestEffortRecords,
  summary: SummaryOutput | undefined,
): Promise<string | undefined> {
  const pebble = servers.pebble;
  if (!pebble) return undefined;
  const root = await pebble.rootCertificatePem();
  const rootFile = join(paths.runDirectory, 'pebble-root.pem');
  records.record(rootFile, () => writeFileSync(rootFile, root));
  const bundle = join(paths.workdir, 'pebble-roots.pem');
  if ((summary?.issuedCount ?? 0) > 0) records.record(bundle, () => appendRoot(bundle, root));
  return bundle;
}

/** The report, the history use, the leftover check and the records that could not be written. */
function reportRun(
  out: (line: string) => void,
  run: ExecutedRun,
  config: CertflowConfig,
  summary: SummaryOutput | undefined,
  caRootFile: string | undefined,
  leftovers: LeftoverCheck,
  records: BestEffortRecords,
): void {
  const { execution, allEvents } = run;
  report(out, config, summary, runLevelFailure(execution.events) ?? execution.failed, caRootFile, {
    reasons: dueReasonsFrom(execution.events),
    failureMessages: failureMessagesFrom(allEvents),
    valuesLeft: valuesLeftFrom(allEvents),
    issuers: issuersFrom(allEvents),
    sweep: sweepFrom(execution.events),
  });
  printHistoryUse(out, execution, run.batches, config.timing);
  for (const line of leftoverLines(leftovers)) out(line);
  for (const line of records.warnings()) out(line);
}
