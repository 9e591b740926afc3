import { UsageError } from '../lambdas/core/errors';
import type { RunInput } from '../lambdas/core/state';
import type { SummaryOutput } from '../lambdas/core/steps/summarize';
import { type ProgressEvent, ProgressPrinter } from '../local/progress';
import {
  dueReasonsFrom,
  failureMessagesFrom,
  report,
  runLevelFailure,
  summaryFrom,
  sweepFrom,
  valuesLeftFrom,
} from '../local/report';
import {
  type CliIO,
  checkCertificateNames,
  EXIT,
  loadConfig,
  processIO,
  runCommand,
  type StackOptions,
  stackOutputs,
} from './common';
import { ExecutionFollower } from './follow-executions';

/**
 * `certflow run`: start the deployed state machine with the manual-run input, follow its
 * execution history and those of the batch executions it starts (cli/follow-executions.ts),
 * print local mode's one line per state as it goes and local mode's end report, and exit 1 if
 * any certificate failed (or the run itself did).
 */

export interface RunOptions extends StackOptions {
  config: string;
  json?: boolean;
  /** The state machine to start; default: the stack's `StateMachineArn` output. */
  stateMachineArn?: string;
  /** Only these certificates. */
  certificate?: string[];
  /** Renew even certificates that are not due. */
  force?: boolean;
  /** Issue from a test CA and store nothing (lambdas/core/renewal/dry-run.ts). */
  dryRun?: boolean;
  /** The execution's name (default: one Step Functions generates). */
  name?: string;
  /** Time between two GetExecutionHistory polls. @default 5000 */
  pollIntervalMs?: number;
  /** Stop following (the execution goes on). */
  signal?: AbortSignal;
}

/** The `certflow run --json` document. */
export interface RunReport {
  ok: boolean;
  stateMachineArn: string;
  executionArn: string;
  /** The batch executions the run started (RunBatch), in the order they were found. */
  batchExecutionArns: string[];
  input: RunInput;
  /** SUCCEEDED, FAILED, TIMED_OUT, ABORTED, or FOLLOWING_STOPPED when interrupted. */
  status: string;
  startDate: string;
  stopDate?: string;
  summary?: SummaryOutput;
  /** The run-level failure (SelectDue, Summarize) or the execution's error. */
  failure?: { Error: string; Cause: unknown };
}

/**
 * The input of a manual run (`{"certificates": [...], "force": true}`, what SelectDue reads).
 * `--dry-run` adds `dryRun: true`.
 */
export function manualRunInput(opts: Pick<RunOptions, 'certificate' | 'force' | 'dryRun'>): RunInput {
  const input: RunInput = {};
  if (opts.certificate?.length) input.certificates = opts.certificate;
  if (opts.force) input.force = true;
  if (opts.dryRun) input.dryRun = true;
  return input;
}

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]+$/;
const TERMINAL = new Map([
  ['ExecutionSucceeded', 'SUCCEEDED'],
  ['ExecutionFailed', 'FAILED'],
  ['ExecutionTimedOut', 'TIMED_OUT'],
  ['ExecutionAborted', 'ABORTED'],
]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

export async function runExecutionCommand(opts: RunOptions, io: CliIO = processIO): Promise<number> {
  return runCommand(io, opts.json === true, async () => {
    const config = loadConfig(opts.config);
    checkCertificateNames(config, opts.certificate);
    const input = manualRunInput(opts);
    const stateMachineArn = opts.stateMachineArn ?? (await stateMachineFromStack(opts));
    if (!STATE_MACHINE_ARN.test(stateMachineArn)) {
      throw new UsageError(
        `"${stateMachineArn}" is not a Step Functions state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)`,
      );
    }
    const { createStepFunctionsClient, regionOfArn, StepFunctionsExecutions } = await import(
      '../lambdas/adapters/aws/step-functions'
    );
    const sfn = new StepFunctionsExecutions(
      createStepFunctionsClient(opts.region ?? regionOfArn(stateMachineArn)),
    );
    // With --json, stdout carries only the JSON document; the progress goes to stderr.
    const progress = opts.json ? io.err : io.out;
    const started = await sfn.start(stateMachineArn, input, opts.name);
    progress(`certflow run: started ${started.executionArn} with ${JSON.stringify(input)}`);

    const printer = new ProgressPrinter(progress, started.startDate.getTime());
    // The run's execution and each batch execution it starts (RunBatch), as local mode prints them.
    const follower = new ExecutionFollower(sfn, started.executionArn, printer);
    let end: ProgressEvent | undefined;
    while (end === undefined) {
      if (opts.signal?.aborted) break;
      end = await follower.poll();
      if (end === undefined) await sleep(opts.pollIntervalMs ?? 5000, opts.signal);
    }
    const events = follower.runEvents;
    const allEvents = follower.allEvents;

    const summary = summaryFrom(events);
    const executionFailure =
      end && end.type !== 'ExecutionSucceeded' ? { Error: String(end.Error), Cause: end.Cause } : undefined;
    const failure = runLevelFailure(events) ?? executionFailure;
    const status = end ? (TERMINAL.get(end.type) as string) : 'FOLLOWING_STOPPED';
    const seconds = (((end?.timestamp ?? Date.now()) - started.startDate.getTime()) / 1000).toFixed(1);
    const exitCode =
      !summary ||
      summary.failedCount > 0 ||
      (executionFailure && executionFailure.Error !== 'CertificatesFailed')
        ? EXIT.problem
        : (summary.warningCount ?? summary.warnings.length) > 0
          ? EXIT.valuesMayRemain
          : EXIT.ok;
    if (opts.json) {
      const doc: RunReport = {
        ok: exitCode === EXIT.ok,
        stateMachineArn,
        executionArn: started.executionArn,
        batchExecutionArns: follower.batchArns,
        input,
        status,
        startDate: started.startDate.toISOString(),
        ...(end ? { stopDate: new Date(end.timestamp).toISOString() } : {}),
        ...(summary ? { summary } : {}),
        ...(failure ? { failure } : {}),
      };
      io.out(JSON.stringify(doc, null, 2));
    } else if (end) {
      // As local mode: the summary and reasons from the run; whole messages from the batches.
      report(io.out, config, summary, failure, undefined, {
        label: 'certflow run',
        issuers: issuersFrom(allEvents),
        reasons: dueReasonsFrom(events),
        failureMessages: failureMessagesFrom(allEvents),
        valuesLeft: valuesLeftFrom(allEvents),
        sweep: sweepFrom(events),
      });
    }
    progress(
      end
        ? `certflow run: execution ${status} after ${seconds} s: ${started.executionArn}`
        : `certflow run: stopped following after ${seconds} s; the execution goes on: ${started.executionArn}`,
    );
    return end ? exitCode : 130;
  });
}

async function stateMachineFromStack(opts: RunOptions): Promise<string> {
  const stack = await stackOutputs(opts);
  const arn = stack.outputs.StateMachineArn;
  if (!arn) {
    throw new UsageError(`${stack.source} has no StateMachineArn output; pass --state-machine-arn`);
  }
  return arn;
}

/** FinalizeAndStore's output names the issuer, which local mode reads from metadata.json instead. */
function issuersFrom(events: ProgressEvent[]): Map<string, string> {
  const issuers = new Map<string, string>();
  for (const e of events) {
    if (e.type !== 'StateExited' || e.state?.name !== 'FinalizeAndStore') continue;
    const issued = (e.state.output as { issued?: { certificate?: unknown; issuer?: unknown } } | undefined)
      ?.issued;
    if (typeof issued?.certificate === 'string' && typeof issued.issuer === 'string') {
      issuers.set(issued.certificate, issued.issuer);
    }
  }
  return issuers;
}
