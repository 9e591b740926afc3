import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markExecutionEnded } from '../../lambdas/adapters/pending/local-run-liveness';
import type { CertflowConfig } from '../../lambdas/core/config/schema';
import { errorText } from '../../lambdas/core/errors';
import { UNWRITABLE_EVENT, type UnwritableFile } from '../../lambdas/runtime/observability';
import { executionEndedMessage } from '../../lib/alerts/execution-ended';
import { certificateEventBudget, certificatesPerBatch } from '../../lib/state-machine/limits';
import type { LocalExecution } from '../execute';
import { hostProcess, lambdaErrorFormatter } from '../lambda-runtime';
import type { BatchExecution } from '../run-with-batches';

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

/** Where one run keeps its record: `<workdir>/runs/<run id>/`. */
export interface RunPaths {
  workdir: string;
  runId: string;
  runDirectory: string;
  historyFile: string;
  /** The functions' state (`<workdir>/state`): pending TXT values, ended executions, alerts. */
  stateDirectory: string;
}

export function runPaths(workdir: string): RunPaths {
  const runId = new Date().toISOString().replace(/[:.]/g, '-');
  const runDirectory = join(workdir, 'runs', runId);
  return {
    workdir,
    runId,
    runDirectory,
    historyFile: join(runDirectory, 'history.json'),
    stateDirectory: join(workdir, 'state'),
  };
}

/**
 * Create the run's directory under `--workdir`; why it cannot be made (the work directory, or a
 * directory above it, is a file; no permission), naming the option and the fix, else undefined.
 */
export function makeRunDirectory(workdir: string, runDirectory: string): string | undefined {
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
export function writeNaming(file: string, data: string): void {
  try {
    writeFileSync(file, data);
  } catch (error) {
    throw new Error(`cannot write ${file}: ${errorText(error)}`, { cause: error });
  }
}

/**
 * The files of the run's record and the handlers' logs and metrics that could not be written (a
 * full work directory): never a failure of the run, each named in the report with its OS error.
 */
export class BestEffortRecords {
  private readonly unwritable = new Map<string, string>();
  private readonly onUnwritable = ({ file, error }: UnwritableFile): void => {
    if (!this.unwritable.has(file)) this.unwritable.set(file, error);
  };

  /** Hear the handlers' unwritable files too, until {@link close}. */
  listen(): void {
    hostProcess().on(UNWRITABLE_EVENT, this.onUnwritable);
  }

  close(): void {
    hostProcess().off(UNWRITABLE_EVENT, this.onUnwritable);
  }

  /** Write `file` with `write`; a failure is remembered, not thrown. */
  record(file: string, write: () => void): void {
    try {
      write();
    } catch (error) {
      this.onUnwritable({ file, error: errorText(error) });
    }
  }

  /** One warning line per file that could not be written. */
  warnings(): string[] {
    return [...this.unwritable].map(
      ([file, error]) =>
        `WARNING: could not write ${file} (${error}); the outcome above stands, that record is incomplete`,
    );
  }
}

/**
 * These executions are over: a later run may sweep what they left (even in this process).
 * (Where a mark cannot be written, the next run still finds the run over: its process is gone.)
 */
export function markExecutionsEnded(
  records: BestEffortRecords,
  stateDirectory: string,
  executionArn: string,
  execution: LocalExecution,
  batches: BatchExecution[],
): void {
  const endedMarks = join(stateDirectory, 'executions-ended');
  records.record(endedMarks, () => markExecutionEnded(stateDirectory, executionArn, execution.status));
  for (const b of batches) {
    records.record(endedMarks, () =>
      markExecutionEnded(stateDirectory, b.arn, b.execution?.status ?? 'ABORTED'),
    );
  }
}

/**
 * The run's events, then each batch's; each names its execution (`execution`: its ARN), so
 * history.json splits into the histories AWS keeps per execution.
 */
export function allHistoryEvents(
  execution: LocalExecution,
  executionArn: string,
  batches: BatchExecution[],
): (LocalExecution['events'][number] & { execution: string })[] {
  return [
    ...execution.events.map((e) => ({ ...e, execution: executionArn })),
    ...batches.flatMap((b) => (b.execution?.events ?? []).map((e) => ({ ...e, execution: b.arn }))),
  ];
}

/** Add a root to the bundle once (verify with `openssl verify -CAfile <bundle> -untrusted chain.pem cert.pem`). */
export function appendRoot(bundle: string, root: string): void {
  const current = existsSync(bundle) ? readFileSync(bundle, 'utf8') : '';
  const pem = `${root.trim()}\n`;
  if (!current.includes(pem)) writeFileSync(bundle, current + pem);
}

export function executionRecord(
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

/**
 * What the stack's EventBridge rule does when an execution ends FAILED, TIMED_OUT or ABORTED:
 * one alert with the same message (lib/alerts/execution-ended.ts), here to the local alert file.
 */
export function alertExecutionEnded(
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
