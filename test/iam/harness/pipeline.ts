/**
 * Drives the real core steps (lambdas/core/steps/*) with the real AWS wiring
 * (each handler's wiring, lambdas/runtime/wiring: the AWS adapters and client factories), each step built with
 * the environment the synthesized stack gives that step's function, in the order the state
 * machine runs them (SelectDue, SweepLeftovers, the Map's Task states per due certificate,
 * Summarize): issue, renew, fail, and be killed. Each run is an execution of the deployed state
 * machine (`arn:…:execution:<state machine>:<uuid>`, RUNNING while it runs), whose id owns the
 * TXT values it writes. Every AWS call is answered by {@link FakeAws} and recorded under the
 * function that made it.
 */
import { randomUUID } from 'node:crypto';

import type {
  BatchSummary,
  CertificateItem,
  CertificateResult,
  RunInput,
  Selection,
  SweepResult,
  TaskStep,
} from '../../../lambdas/core/state';
import { answerChallenges } from '../../../lambdas/core/steps/answer-challenges';
import { checkOrder } from '../../../lambdas/core/steps/check-order';
import { checkPropagation } from '../../../lambdas/core/steps/check-propagation';
import { cleanup, sweepLeftovers } from '../../../lambdas/core/steps/cleanup';
import type { StepContext } from '../../../lambdas/core/steps/context';
import { createOrder } from '../../../lambdas/core/steps/create-order';
import { finalizeAndStore } from '../../../lambdas/core/steps/finalize-and-store';
import { publishRecords } from '../../../lambdas/core/steps/publish-records';
import { recordFailure } from '../../../lambdas/core/steps/record-failure';
import { selectDue } from '../../../lambdas/core/steps/select-due';
import { summarize, summarizeRunOrBatch } from '../../../lambdas/core/steps/summarize';
import { buildStepContext } from '../../../lambdas/runtime/handler';
import { STEP_WIRINGS } from '../../support/step-wirings';
import type { DeployedAccount } from './deployment';
import type { FakeAws } from './fake-aws';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PipelineDriver {
  constructor(
    private readonly account: DeployedAccount,
    private readonly fake: FakeAws,
    /** Environment every function has besides its own (e.g. AWS_REGION, set by Lambda). */
    private readonly lambdaEnv: Record<string, string>,
    /**
     * Variables replaced in every function's environment: the configuration pointing at the
     * local CA and name server (which the construct rightly refuses to deploy).
     */
    private readonly overrides: Record<string, string> = {},
  ) {}

  /** Run one step as its function: its environment, a fresh (cold-start) context, its calls recorded. */
  async invoke<I, O>(step: TaskStep, fn: (input: I, ctx: StepContext) => Promise<O>, input: I): Promise<O> {
    const saved = process.env;
    process.env = {
      PATH: saved.PATH ?? '',
      ...this.lambdaEnv,
      ...this.account.functions[step].environment,
      ...this.overrides,
    };
    this.fake.step = step;
    try {
      return await fn(input, buildStepContext(step, STEP_WIRINGS[step]));
    } finally {
      process.env = saved;
    }
  }

  /**
   * One renewal run as the state machine runs it: SelectDue, SweepLeftovers (the Cleanup function
   * with `{sweep: true, executionId}`), then per due certificate the Task states in order (Wait
   * states shortened), Cleanup on success and on failure, RecordFailure on failure, and Summarize.
   * `failAfter` makes a certificate fail after the named step, the way a Catch would route it (the
   * error is the state machine's `{Error, Cause}`). `killAfter` stops the whole execution after a
   * certificate's step, as StopExecution or a timeout would: nothing after it runs (no Cleanup),
   * and the execution ends ABORTED, leaving its TXT values for a later run's sweep.
   */
  async run(
    input: RunInput,
    options: { failAfter?: Record<string, TaskStep>; killAfter?: Record<string, TaskStep> } = {},
  ): Promise<RunOutcome> {
    const executionId = `${this.account.stateMachine.arn.replace(':stateMachine:', ':execution:')}:${randomUUID()}`;
    this.fake.startExecution(executionId);
    const selection = await this.invoke('SelectDue', selectDue, input);
    const sweep = await this.invoke('Cleanup', sweepLeftovers, { sweep: true, executionId });
    const results: CertificateResult[] = [];
    const batches: BatchSummary[] = [];
    const batchExecutions: string[] = [];
    // Each batch is a child execution of the batch state machine (IssueBatch), which owns the TXT
    // values its certificates write; its last state is SummarizeBatch.
    for (const batch of selection.batches) {
      const batchExecutionId = `${this.account.batchStateMachine.arn.replace(':stateMachine:', ':execution:')}:${randomUUID()}`;
      this.fake.startExecution(batchExecutionId);
      batchExecutions.push(batchExecutionId);
      const batchResults: CertificateResult[] = [];
      for (const due of batch) {
        const outcome = await this.certificate(
          selection,
          batchExecutionId,
          due.certificate,
          options.failAfter?.[due.certificate],
          options.killAfter?.[due.certificate],
        );
        if (outcome === 'killed') {
          this.fake.endExecution(batchExecutionId, 'ABORTED');
          this.fake.endExecution(executionId, 'ABORTED');
          return { executionId, selection, sweep, results, killed: true, batchExecutions };
        }
        batchResults.push(outcome);
      }
      batches.push(
        (await this.invoke('Summarize', summarizeRunOrBatch, {
          summarizeBatch: true,
          results: batchResults,
        })) as BatchSummary,
      );
      this.fake.endExecution(batchExecutionId, 'SUCCEEDED');
      results.push(...batchResults);
    }
    await this.invoke('Summarize', summarize, { selection: { ...selection, batches }, sweep });
    this.fake.endExecution(executionId, 'SUCCEEDED');
    return { executionId, selection, sweep, results, killed: false, batchExecutions };
  }

  private async certificate(
    selection: Selection,
    executionId: string,
    name: string,
    failAfter: TaskStep | undefined,
    killAfter: TaskStep | undefined,
  ): Promise<CertificateResult | 'killed'> {
    let item: CertificateItem = {
      certificate: name,
      runId: selection.runId,
      executionId,
      accountUrl: selection.accountUrl,
      timing: selection.timing,
    };
    let step: TaskStep = 'CreateOrder';
    const fail = (error: { Error: string; Cause?: string }) => ({ ...item, error, failedStep: step });
    const after = (done: TaskStep): 'killed' | undefined => {
      if (killAfter === done) return 'killed';
      if (failAfter === done) throw injected(done);
      return undefined;
    };
    try {
      item = { ...item, order: await this.invoke(step, createOrder, item) };
      if (after(step)) return 'killed';
      step = 'PublishRecords';
      item = { ...item, publication: await this.invoke(step, publishRecords, item) };
      if (after(step)) return 'killed';
      step = 'CheckPropagation';
      for (;;) {
        const propagation = await this.invoke(step, checkPropagation, item);
        item = { ...item, propagation };
        if (propagation.ready) break;
        await sleep(200);
      }
      step = 'AnswerChallenges';
      item = { ...item, answered: await this.invoke(step, answerChallenges, item) };
      step = 'CheckOrder';
      for (;;) {
        const orderStatus = await this.invoke(step, checkOrder, item);
        item = { ...item, orderStatus };
        if (orderStatus.status === 'ready' || orderStatus.status === 'valid') break;
        await sleep(200);
      }
      step = 'FinalizeAndStore';
      const issued = await this.invoke(step, finalizeAndStore, item);
      item = { ...item, issued };
      await this.invoke('Cleanup', cleanup, item);
      return { certificate: name, status: 'issued', issued };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      const failed = fail({
        Error: e.name,
        Cause: JSON.stringify({ errorType: e.name, errorMessage: e.message }),
      });
      await this.invoke('Cleanup', cleanup, failed);
      await this.invoke('RecordFailure', recordFailure, failed);
      return {
        certificate: name,
        status: 'failed',
        step,
        error: failed.error as { Error: string; Cause?: string },
      };
    }
  }
}

/** What one run did: its execution, selection, sweep and per-certificate results. */
export interface RunOutcome {
  executionId: string;
  selection: Selection;
  sweep: SweepResult;
  results: CertificateResult[];
  /** The execution was stopped (ABORTED) before it finished. */
  killed: boolean;
  /** The IssueBatch child executions started, in order (they own the TXT values written). */
  batchExecutions: string[];
}

/** The error a failure injected after `step` stands for: a Lambda task that timed out. */
function injected(step: TaskStep): Error {
  const e = new Error(`injected failure after ${step} (as a Task timeout would end it)`);
  e.name = 'States.Timeout';
  return e;
}
