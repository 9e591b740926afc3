import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { STEP_RETRIES } from '../../lambdas/core/execution-limits';
import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import { taskTimeoutSeconds } from './step-settings';

/** One Lambda function per Task state. */
export type StepFunctions = Record<TaskStep, lambda.IFunction>;

export interface RenewalDefinitionProps {
  /** Certificates issued at once inside a batch. @default 4 */
  readonly maxConcurrency?: number;
  /** Batches (IssueBatch executions) running at once. @default 1 */
  readonly batchConcurrency?: number;
}

/**
 * Errors a retry can fix: certflow's named transient errors (lambdas/core/errors.ts) and an
 * invocation that Lambda ended, out of time or memory (`Sandbox.Timedout`, the runtime's name
 * for its timeout; `Lambda.Unknown`: "Unhandled errors in Lambda are reported as Lambda.Unknown
 * in the error output. These include out-of-memory errors and function timeouts", Step
 * Functions developer guide, "Handle Lambda service exceptions"). Both are reported once the
 * invocation is over, so the retry runs alone; every step is safe to repeat after it
 * ({@link REPEATABLE_STEPS}).
 *
 * `States.Timeout` is not among them (see {@link NOT_RETRIED_ERRORS}).
 *
 * `DnsProviderThrottledError` is not among them: Route 53 throttling is retried at one layer
 * only, the Route 53 adapter's (6 attempts, full-jitter backoff, SDK retries off). A second layer
 * here would multiply it to 24 calls per operation against an account-wide rate; past the
 * adapter's bound the certificate fails (its values are removed, or swept by the next run) and
 * the next scheduled run tries again.
 */
export const TRANSIENT_ERRORS = [
  'AcmeRequestError',
  'DnsQueryError',
  'DnsUpdateUnavailableError',
  'Sandbox.Timedout',
  'Lambda.Unknown',
];

/**
 * Errors no Task retries. `States.Timeout` is the Task's own timer: "If the task runs longer
 * than the specified seconds, this state fails with a States.Timeout error" (Task state
 * reference), while the invocation it waited for is not stopped and runs on until the
 * function's timeout. Every Task waits longer than its function may run
 * (lib/state-machine/step-settings.ts `taskTimeoutSeconds`), so `States.Timeout` means the
 * invocation's end was never reported: it may still be publishing, storing or reserving the
 * order budget, and a retry beside it could do so twice. The step fails instead, into its Catch
 * (whose cleanup removes what the step wrote).
 */
export const NOT_RETRIED_ERRORS = ['States.Timeout'];

/**
 * Errors of the Lambda service itself (the invocation did not run, or its result was lost),
 * which AWS recommends retrying ("Handle transient Lambda service exceptions"). CDK's own
 * default retrier for them is turned off (`retryOnServiceExceptions: false`) so that this one,
 * applied only to steps that are safe to repeat, is the only one.
 */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/**
 * Steps that are safe to repeat after a transient failure, once the earlier attempt is over:
 * all of them. SelectDue reserves the order budget: a repeat after an attempt that reserved and
 * then ran out of time reserves again (the budget is over-counted, never exceeded, until the
 * window passes); CreateOrder places an order, and a repeat places another (the first expires
 * unused at the CA); PublishRecords
 * adds the same TXT values (an RR already present is ignored, RFC 2136 §3.4.2.2);
 * AnswerChallenges and CheckOrder ask the CA for the order's state; FinalizeAndStore keeps the
 * order's key (PendingKeyStore) before finalizing, and a repeat finds the finalized order,
 * downloads the certificate and stores it once; Cleanup removes values that may already be
 * gone; RecordFailure may alert twice.
 */
export const REPEATABLE_STEPS: ReadonlySet<TaskStep> = new Set(TASK_STEPS);

/** A failed batch's Cause when BatchFailed could not reduce it (the run's history still has it whole). */
export const BATCH_CAUSE_NOT_KEPT =
  "the batch's execution failed; its cause was not kept (BatchFailed failed): the RunBatch event of the run's history has it";

/** Retry a repeatable step's transient errors and Lambda's own service errors. */
function addStepRetries(t: tasks.LambdaInvoke, step: TaskStep): void {
  if (!REPEATABLE_STEPS.has(step)) return;
  t.addRetry({
    errors: TRANSIENT_ERRORS,
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: STEP_RETRIES.transient,
    jitterStrategy: sfn.JitterType.FULL,
  });
  t.addRetry({
    errors: LAMBDA_SERVICE_ERRORS,
    interval: Duration.seconds(1),
    backoffRate: 2,
    maxAttempts: STEP_RETRIES.service,
    jitterStrategy: sfn.JitterType.FULL,
  });
}

/** A Task state invoking a step's function, with its timeout and (where safe) its retries. */
function taskFactory(scope: Construct, fns: StepFunctions) {
  return (
    step: TaskStep,
    resultPath: string,
    id: string = step,
    payload?: sfn.TaskInput,
  ): tasks.LambdaInvoke => {
    const t = new tasks.LambdaInvoke(scope, id, {
      lambdaFunction: fns[step],
      payloadResponseOnly: true,
      payload,
      resultPath,
      taskTimeout: sfn.Timeout.duration(Duration.seconds(taskTimeoutSeconds(step))),
      retryOnServiceExceptions: false,
      comment: `certflow ${step}`,
    });
    addStepRetries(t, step);
    return t;
  };
}

/** Catch everything from `t` into `<id>Failed` (which records the step as `$.failedStep`), then `next`. */
function catchInto(
  scope: Construct,
  step: string,
  t: tasks.LambdaInvoke | sfn.Map | tasks.StepFunctionsStartExecution,
  next: sfn.IChainable,
): void {
  const mark = new sfn.Pass(scope, `${step}Failed`, {
    result: sfn.Result.fromString(step),
    resultPath: '$.failedStep',
  });
  mark.next(next);
  t.addCatch(mark, { errors: ['States.ALL'], resultPath: '$.error' });
}

/**
 * One batch of certificates (an IssueBatch execution, started by the run): IssueEach (a Map,
 * bounded concurrency) issues each certificate of `$.batch`, then SummarizeBatch reports them
 * compactly as the execution's output.
 *
 * Per certificate (RFC 8555 §7.4 order flow with dns-01, §8.4):
 * CreateOrder → PublishRecords → CheckPropagation ⟲ Wait → AnswerChallenges →
 * CheckOrder ⟲ Wait → FinalizeAndStore → Cleanup. Every Task in the iteration catches
 * `States.ALL` into `<Step>Failed` → CleanupAfterFailure → RecordFailure → CertificateFailed,
 * so one certificate's failure never stops the others, TXT records never outlive the order,
 * and a cleanup failure never hides the original error; once FinalizeAndStore has stored the
 * certificate, a Cleanup failure is a warning (RecordValuesLeft → CertificateIssuedWithWarning).
 * Checks come before waits, so a record that is already visible costs no wait.
 *
 * The batch is sized (SelectDue, lambdas/core/execution-limits.ts) so its history stays well
 * inside the 25,000-event quota; a failure of the batch as a whole is caught by the run.
 */
export function buildBatchDefinition(
  scope: Construct,
  fns: StepFunctions,
  props: RenewalDefinitionProps = {},
): sfn.IChainable {
  const task = taskFactory(scope, fns);
  // ---- failure path (inside the Map iteration) ----
  const certificateFailed = new sfn.Pass(scope, 'CertificateFailed', {
    parameters: {
      'certificate.$': '$.certificate',
      status: 'failed',
      'step.$': '$.failedStep',
      'error.$': '$.error',
    },
  });
  const recordFailure = task('RecordFailure', '$.failure');
  recordFailure.addCatch(certificateFailed, { errors: ['States.ALL'], resultPath: '$.alertError' });
  recordFailure.next(certificateFailed);
  const cleanupAfterFailure = task('Cleanup', '$.cleanup', 'CleanupAfterFailure');
  cleanupAfterFailure.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.cleanupError' });
  cleanupAfterFailure.next(recordFailure);

  // ---- success path ----
  const createOrder = task('CreateOrder', '$.order');
  const publishRecords = task('PublishRecords', '$.publication');
  const checkPropagation = task('CheckPropagation', '$.propagation');
  const waitForPropagation = new sfn.Wait(scope, 'WaitForPropagation', {
    time: sfn.WaitTime.secondsPath('$.timing.propagationIntervalSeconds'),
  });
  const answerChallenges = task('AnswerChallenges', '$.answered');
  const checkOrder = task('CheckOrder', '$.orderStatus');
  const waitForOrder = new sfn.Wait(scope, 'WaitForOrder', {
    time: sfn.WaitTime.secondsPath('$.timing.orderIntervalSeconds'),
  });
  const finalizeAndStore = task('FinalizeAndStore', '$.issued');
  const cleanup = task('Cleanup', '$.cleanup');
  const certificateIssued = new sfn.Pass(scope, 'CertificateIssued', {
    parameters: {
      'certificate.$': '$.certificate',
      status: 'issued',
      'issued.$': '$.issued',
    },
  });
  // Issued means issued: once FinalizeAndStore stored the certificate, a Cleanup failure is a
  // warning (the values stay pending and the next run's sweep removes them), never a failure.
  const issuedWithWarning = new sfn.Pass(scope, 'CertificateIssuedWithWarning', {
    parameters: {
      'certificate.$': '$.certificate',
      status: 'issued',
      'issued.$': '$.issued',
      'cleanupError.$': '$.cleanupError',
      'leftRecords.$': '$.order.records',
    },
  });
  const recordValuesLeft = task(
    'RecordFailure',
    '$.valuesLeftAlert',
    'RecordValuesLeft',
    sfn.TaskInput.fromObject({
      'certificate.$': '$.certificate',
      valuesLeft: true,
      'cleanupError.$': '$.cleanupError',
      'order.$': '$.order',
    }),
  );
  recordValuesLeft.addCatch(issuedWithWarning, { errors: ['States.ALL'], resultPath: '$.alertError' });
  recordValuesLeft.next(issuedWithWarning);

  for (const [step, t] of [
    ['CreateOrder', createOrder],
    ['PublishRecords', publishRecords],
    ['CheckPropagation', checkPropagation],
    ['AnswerChallenges', answerChallenges],
    ['CheckOrder', checkOrder],
    ['FinalizeAndStore', finalizeAndStore],
  ] as const) {
    catchInto(scope, step, t, cleanupAfterFailure);
  }
  cleanup.addCatch(recordValuesLeft, { errors: ['States.ALL'], resultPath: '$.cleanupError' });

  waitForPropagation.next(checkPropagation);
  waitForOrder.next(checkOrder);
  const iteration = createOrder
    .next(publishRecords)
    .next(checkPropagation)
    .next(
      new sfn.Choice(scope, 'RecordsVisible?')
        .when(sfn.Condition.booleanEquals('$.propagation.ready', true), answerChallenges)
        .otherwise(waitForPropagation),
    );
  answerChallenges
    .next(checkOrder)
    .next(
      new sfn.Choice(scope, 'OrderReady?')
        .when(sfn.Condition.stringEquals('$.orderStatus.status', 'ready'), finalizeAndStore)
        .otherwise(waitForOrder),
    );
  finalizeAndStore.next(cleanup).next(certificateIssued);

  const issueEach = new sfn.Map(scope, 'IssueEach', {
    itemsPath: '$.batch',
    maxConcurrency: props.maxConcurrency ?? 4,
    itemSelector: {
      'certificate.$': '$$.Map.Item.Value.certificate',
      'reason.$': '$$.Map.Item.Value.reason',
      'runId.$': '$.runId',
      'directoryUrl.$': '$.directoryUrl',
      'dryRun.$': '$.dryRun',
      'accountUrl.$': '$.accountUrl',
      'timing.$': '$.timing',
      // The owner of the TXT values this certificate writes (the run-start sweep asks about it).
      'executionId.$': '$$.Execution.Id',
    },
    resultPath: '$.results',
  });
  issueEach.itemProcessor(iteration);
  const summarizeBatch = new tasks.LambdaInvoke(scope, 'SummarizeBatch', {
    lambdaFunction: fns.Summarize,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject({
      summarizeBatch: true,
      'results.$': '$.results',
      'listing.$': '$.listing',
    }),
    // The execution's output is the batch summary alone (compact: the run gathers every batch's).
    resultPath: '$.summary',
    outputPath: '$.summary',
    taskTimeout: sfn.Timeout.duration(Duration.seconds(taskTimeoutSeconds('Summarize'))),
    retryOnServiceExceptions: false,
    comment: 'certflow Summarize (one batch)',
  });
  summarizeBatch.addRetry({
    errors: TRANSIENT_ERRORS,
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 3,
    jitterStrategy: sfn.JitterType.FULL,
  });
  summarizeBatch.addRetry({
    errors: LAMBDA_SERVICE_ERRORS,
    interval: Duration.seconds(1),
    backoffRate: 2,
    maxAttempts: 4,
    jitterStrategy: sfn.JitterType.FULL,
  });
  issueEach.next(summarizeBatch);
  return issueEach;
}

/**
 * The renewal run: SweepLeftovers → SelectDue → IssueBatches (a Map over the due certificates'
 * batches; each starts an IssueBatch execution and waits for it) → Summarize → AllIssued?.
 *
 * Each batch has its own execution history, so no run outgrows Step Functions' 25,000-event
 * quota: a thousand certificates are fifty executions of twenty (Step Functions' own scale-out:
 * a parent execution starting child executions). A batch that fails as a whole is caught and
 * reported with its certificates; SelectDue, the Map and Summarize catch into RecordRunFailure →
 * RunFailed, so a run that cannot start or finish still alerts.
 *
 * JSONPath query language; the same definitions are deployed by the stack and run locally.
 */
export function buildRenewalDefinition(
  scope: Construct,
  fns: StepFunctions,
  batchStateMachine: sfn.IStateMachine,
  props: RenewalDefinitionProps = {},
): sfn.IChainable {
  const task = taskFactory(scope, fns);
  // ---- run-level failures (SelectDue, Summarize): alert, then fail the execution ----
  const runFailed = new sfn.Fail(scope, 'RunFailed', {
    error: 'RunFailed',
    cause:
      'The renewal run itself failed (SelectDue, IssueBatches or Summarize); the SNS alert has the error.',
  });
  const recordRunFailure = task(
    'RecordFailure',
    '$.failure',
    'RecordRunFailure',
    sfn.TaskInput.fromObject({
      certificate: '(run)',
      'failedStep.$': '$.failedStep',
      'error.$': '$.error',
      'executionId.$': '$$.Execution.Id',
    }),
  );
  recordRunFailure.addCatch(runFailed, { errors: ['States.ALL'], resultPath: '$.alertError' });
  recordRunFailure.next(runFailed);

  // ---- the run ----
  // First of all, remove TXT values that earlier runs wrote and could not remove (killed,
  // stopped, timed out, or their Cleanup failed): the Cleanup function, on values whose run is
  // over. It comes before SelectDue, so a run that fails on the CA or the configuration (the CA
  // down, an unknown certificate named) still removes them.
  const sweep = task(
    'Cleanup',
    '$.sweep',
    'SweepLeftovers',
    sfn.TaskInput.fromObject({ sweep: true, 'executionId.$': '$$.Execution.Id' }),
  );
  // SelectDue gets the execution input as it was started (the context object's
  // `$$.Execution.Input`: the state holds the sweep's result by now) and the execution's ARN
  // (its log lines and the selection name the execution; Summarize's lines take it from the
  // selection).
  const selectDue = task(
    'SelectDue',
    '$.selection',
    'SelectDue',
    sfn.TaskInput.fromObject({ 'run.$': '$$.Execution.Input', 'executionId.$': '$$.Execution.Id' }),
  );
  // A failed sweep never blocks renewals, nor hides what follows: its error is kept
  // (`$.sweepError`), reported in the summary, and the sweep is tried again next run.
  const sweepFailed = new sfn.Pass(scope, 'SweepFailed', {
    result: sfn.Result.fromObject({ removed: [], stillRunning: 0, undecided: 0 }),
    resultPath: '$.sweep',
  });
  sweep.addCatch(sweepFailed, { errors: ['States.ALL'], resultPath: '$.sweepError' });
  catchInto(scope, 'SelectDue', selectDue, recordRunFailure);
  // One IssueBatch execution per batch, waited for (startExecution.sync:2: its output is JSON).
  const runBatch = new tasks.StepFunctionsStartExecution(scope, 'RunBatch', {
    stateMachine: batchStateMachine,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    associateWithParent: true,
    input: sfn.TaskInput.fromObject({
      'batch.$': '$.batch',
      'listing.$': '$.listing',
      'runId.$': '$.runId',
      'directoryUrl.$': '$.directoryUrl',
      'dryRun.$': '$.dryRun',
      'accountUrl.$': '$.accountUrl',
      'timing.$': '$.timing',
    }),
    // The iteration's output is the batch's summary (the child execution's output).
    outputPath: '$.Output',
    comment: 'certflow: issue one batch of certificates (an IssueBatch execution)',
  });
  runBatch.addRetry({
    errors: ['StepFunctions.ExecutionLimitExceeded', 'StepFunctions.SdkClientException'],
    interval: Duration.seconds(5),
    backoffRate: 2,
    maxAttempts: 4,
    jitterStrategy: sfn.JitterType.FULL,
  });
  // A batch that fails as a whole (its execution FAILED, TIMED_OUT or ABORTED): its certificates
  // are reported failed at IssueBatch with the error; the other batches go on. The Catch's Cause
  // is the child's DescribeExecution as JSON, its whole input included, and every batch's record
  // stays in the run's state until Summarize: BatchFailed (the Summarize function) keeps of it
  // only the child's ARN, status, error and cause, at most PAYLOAD_BOUNDS.batchErrorBytes of
  // JSON. A Lambda step, because JSONPath has no intrinsic that cuts a string, and
  // States.StringToJson on a Cause that is not JSON (StartExecution's own errors are plain
  // text) fails the execution with an error no Catch takes.
  const failedBatchCertificates = '$.batch[*].certificate';
  const batchFailed = new tasks.LambdaInvoke(scope, 'BatchFailed', {
    lambdaFunction: fns.Summarize,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject({
      batchFailed: true,
      'certificates.$': failedBatchCertificates,
      'error.$': '$.error',
    }),
    // No ResultPath: the bounded record replaces the iteration's state (and the Cause with it).
    taskTimeout: sfn.Timeout.duration(Duration.seconds(taskTimeoutSeconds('Summarize'))),
    retryOnServiceExceptions: false,
    comment: 'certflow Summarize (a failed batch, its cause bounded)',
  });
  addStepRetries(batchFailed, 'Summarize');
  // Should BatchFailed itself fail, the batch is still reported, with its error name and no cause.
  const batchFailedUnread = new sfn.Pass(scope, 'BatchFailedUnread', {
    parameters: {
      batchFailed: true,
      'certificates.$': failedBatchCertificates,
      error: { 'Error.$': '$.error.Error', Cause: BATCH_CAUSE_NOT_KEPT },
    },
  });
  batchFailed.addCatch(batchFailedUnread, { errors: ['States.ALL'], resultPath: '$.batchFailedError' });
  runBatch.addCatch(batchFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  const issueBatches = new sfn.Map(scope, 'IssueBatches', {
    itemsPath: '$.selection.batches',
    maxConcurrency: props.batchConcurrency ?? 1,
    itemSelector: {
      'batch.$': '$$.Map.Item.Value',
      'listing.$': '$.selection.listing',
      'runId.$': '$.selection.runId',
      'directoryUrl.$': '$.selection.directoryUrl',
      'dryRun.$': '$.selection.dryRun',
      'accountUrl.$': '$.selection.accountUrl',
      'timing.$': '$.selection.timing',
    },
    // Each batch's outcome replaces its list of certificates, so the run's state carries each
    // certificate once (the payload budget in lambdas/core/execution-limits.ts counts on it).
    resultPath: '$.selection.batches',
  });
  issueBatches.itemProcessor(runBatch);
  // The Map itself can fail (a runtime error): that still alerts. States.DataLimitExceeded and
  // the history limit are terminal and end the execution; the EventBridge rule on the
  // execution's end alerts for those (lib/certflow.ts).
  catchInto(scope, 'IssueBatches', issueBatches, recordRunFailure);
  // The summary replaces the run's state (`{summary}` is the execution's output), so the
  // selection is not carried next to it.
  const summarize = new tasks.LambdaInvoke(scope, 'Summarize', {
    lambdaFunction: fns.Summarize,
    payloadResponseOnly: true,
    resultSelector: { 'summary.$': '$' },
    // No ResultPath: ASL's default ("$") replaces the state with the result. (Written out as
    // "$", aws-local-stepfunctions 2.x would set a key named "$" instead.)
    taskTimeout: sfn.Timeout.duration(Duration.seconds(taskTimeoutSeconds('Summarize'))),
    retryOnServiceExceptions: false,
    comment: 'certflow Summarize',
  });
  addStepRetries(summarize, 'Summarize');
  catchInto(scope, 'Summarize', summarize, recordRunFailure);
  const someFailed = new sfn.Fail(scope, 'SomeCertificatesFailed', {
    error: 'CertificatesFailed',
    cause: 'One or more certificates failed; the Summarize output and the SNS alert list them.',
  });
  sweep.next(selectDue);
  sweepFailed.next(selectDue);
  selectDue.next(issueBatches);
  issueBatches.next(summarize);
  summarize.next(
    new sfn.Choice(scope, 'AllIssued?')
      .when(sfn.Condition.numberGreaterThan('$.summary.failedCount', 0), someFailed)
      .otherwise(new sfn.Succeed(scope, 'RunSucceeded')),
  );
  return sweep;
}
