/**
 * Drives the real core steps (lambdas/core/steps/*) with the real AWS wiring
 * (each handler's wiring, lambdas/runtime/wiring: the AWS adapters and client factories), each step built with
 * the environment the synthesized stack gives that step's function, in the order the state
 * machine runs them: issue, renew, and fail. Every AWS call is answered by {@link FakeAws} and
 * recorded under the function that made it.
 */

import type {
  CertificateItem,
  CertificateResult,
  RunInput,
  Selection,
  TaskStep,
} from '../../../lambdas/core/state';
import { answerChallenges } from '../../../lambdas/core/steps/answer-challenges';
import { checkOrder } from '../../../lambdas/core/steps/check-order';
import { checkPropagation } from '../../../lambdas/core/steps/check-propagation';
import { cleanup } from '../../../lambdas/core/steps/cleanup';
import type { StepContext } from '../../../lambdas/core/steps/context';
import { createOrder } from '../../../lambdas/core/steps/create-order';
import { finalizeAndStore } from '../../../lambdas/core/steps/finalize-and-store';
import { publishRecords } from '../../../lambdas/core/steps/publish-records';
import { recordFailure } from '../../../lambdas/core/steps/record-failure';
import { selectDue } from '../../../lambdas/core/steps/select-due';
import { summarize } from '../../../lambdas/core/steps/summarize';
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
   * One renewal run as the state machine runs it: SelectDue, then per due certificate the Task
   * states in order (Wait states shortened), Cleanup on success and on failure, RecordFailure on
   * failure, and Summarize. `failAfter` makes a certificate fail after the named step, the way a
   * Catch would route it (the error is the state machine's `{Error, Cause}`).
   */
  async run(
    input: RunInput,
    failAfter: Record<string, TaskStep> = {},
  ): Promise<{ selection: Selection; results: CertificateResult[] }> {
    const selection = await this.invoke('SelectDue', selectDue, input);
    const results: CertificateResult[] = [];
    for (const due of selection.due) {
      results.push(await this.certificate(selection, due.certificate, failAfter[due.certificate]));
    }
    await this.invoke('Summarize', summarize, { selection, results });
    return { selection, results };
  }

  private async certificate(
    selection: Selection,
    name: string,
    failAfter: TaskStep | undefined,
  ): Promise<CertificateResult> {
    let item: CertificateItem = {
      certificate: name,
      runId: selection.runId,
      accountUrl: selection.accountUrl,
      timing: selection.timing,
    };
    let step: TaskStep = 'CreateOrder';
    const fail = (error: { Error: string; Cause?: string }) => ({ ...item, error, failedStep: step });
    try {
      item = { ...item, order: await this.invoke(step, createOrder, item) };
      if (failAfter === 'CreateOrder') throw injected(step);
      step = 'PublishRecords';
      item = { ...item, publication: await this.invoke(step, publishRecords, item) };
      if (failAfter === 'PublishRecords') throw injected(step);
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

/** The error a failure injected after `step` stands for: a Lambda task that timed out. */
function injected(step: TaskStep): Error {
  const e = new Error(`injected failure after ${step} (as a Task timeout would end it)`);
  e.name = 'States.Timeout';
  return e;
}
