import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import { STEP_SETTINGS } from './step-settings';

/** One Lambda function per Task state. */
export type StepFunctions = Record<TaskStep, lambda.IFunction>;

export interface RenewalDefinitionProps {
  /** Certificates issued at once inside the Map. @default 4 */
  readonly maxConcurrency?: number;
}

/**
 * Errors a retry can fix: certflow's named transient errors (lambdas/core/errors.ts) and a
 * Task that ran out of time (the Task's own timer: `States.Timeout`; Lambda's timer, reported by
 * the runtime as `Sandbox.Timedout`).
 */
export const TRANSIENT_ERRORS = [
  'AcmeRequestError',
  'DnsQueryError',
  'DnsUpdateUnavailableError',
  'DnsProviderThrottledError',
  'States.Timeout',
  'Sandbox.Timedout',
];

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
 * Steps that are safe to repeat after a transient failure: all of them. FinalizeAndStore keeps
 * the order's key (PendingKeyStore) before finalizing, and a repeat finds the finalized order,
 * downloads the certificate and stores it once.
 */
export const REPEATABLE_STEPS: ReadonlySet<TaskStep> = new Set(TASK_STEPS);

/**
 * The renewal run: SelectDue → SweepLeftovers → Map(IssueCertificate per due certificate) → Summarize.
 *
 * Per certificate (RFC 8555 §7.4 order flow with dns-01, §8.4):
 * CreateOrder → PublishRecords → CheckPropagation ⟲ Wait → AnswerChallenges →
 * CheckOrder ⟲ Wait → FinalizeAndStore → Cleanup. Every Task in the iteration catches
 * `States.ALL` into `<Step>Failed` → CleanupAfterFailure → RecordFailure → CertificateFailed,
 * so one certificate's failure never stops the others, TXT records never outlive the order,
 * and a cleanup failure never hides the original error. SelectDue, the Map and Summarize catch into
 * RecordRunFailure → RunFailed, so a run that cannot start or finish still alerts. Checks come before waits, so a
 * record that is already visible costs no wait.
 *
 * JSONPath query language; the same definition is deployed by the stack and run locally.
 */
export function buildRenewalDefinition(
  scope: Construct,
  fns: StepFunctions,
  props: RenewalDefinitionProps = {},
): sfn.IChainable {
  const task = (
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
      taskTimeout: sfn.Timeout.duration(Duration.seconds(STEP_SETTINGS[step].timeoutSeconds)),
      retryOnServiceExceptions: false,
      comment: `certflow ${step}`,
    });
    if (REPEATABLE_STEPS.has(step)) {
      t.addRetry({
        errors: TRANSIENT_ERRORS,
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 3,
        jitterStrategy: sfn.JitterType.FULL,
      });
      t.addRetry({
        errors: LAMBDA_SERVICE_ERRORS,
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxAttempts: 4,
        jitterStrategy: sfn.JitterType.FULL,
      });
    }
    return t;
  };

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

  /** Catch everything from `t` into `<step>Failed` (which records the step), then `next`. */
  const catchInto = (step: string, t: tasks.LambdaInvoke | sfn.Map, next: sfn.IChainable): void => {
    const mark = new sfn.Pass(scope, `${step}Failed`, {
      result: sfn.Result.fromString(step),
      resultPath: '$.failedStep',
    });
    mark.next(next);
    t.addCatch(mark, { errors: ['States.ALL'], resultPath: '$.error' });
  };

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
    parameters: { 'certificate.$': '$.certificate', status: 'issued', 'issued.$': '$.issued' },
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
    catchInto(step, t, cleanupAfterFailure);
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

  // ---- run-level failures (SelectDue, Summarize): alert, then fail the execution ----
  const runFailed = new sfn.Fail(scope, 'RunFailed', {
    error: 'RunFailed',
    cause: 'The renewal run itself failed (SelectDue, IssueEach or Summarize); the SNS alert has the error.',
  });
  const recordRunFailure = task(
    'RecordFailure',
    '$.failure',
    'RecordRunFailure',
    sfn.TaskInput.fromObject({ certificate: '(run)', 'failedStep.$': '$.failedStep', 'error.$': '$.error' }),
  );
  recordRunFailure.addCatch(runFailed, { errors: ['States.ALL'], resultPath: '$.alertError' });
  recordRunFailure.next(runFailed);

  // ---- the run ----
  // Before issuing, remove TXT values that earlier runs wrote and could not remove (killed,
  // stopped, timed out, or their Cleanup failed): the Cleanup function, on values whose run is over.
  const sweep = task(
    'Cleanup',
    '$.sweep',
    'SweepLeftovers',
    sfn.TaskInput.fromObject({ sweep: true, 'executionId.$': '$$.Execution.Id' }),
  );
  const selectDue = task('SelectDue', '$.selection');
  // A failed sweep never blocks renewals: it is reported in the summary and retried next run.
  const sweepFailed = new sfn.Pass(scope, 'SweepFailed', {
    result: sfn.Result.fromObject({ removed: [], stillRunning: 0, undecided: 0 }),
    resultPath: '$.sweep',
  });
  sweep.addCatch(sweepFailed, { errors: ['States.ALL'], resultPath: '$.sweepError' });
  catchInto('SelectDue', selectDue, recordRunFailure);
  const issueEach = new sfn.Map(scope, 'IssueEach', {
    itemsPath: '$.selection.due',
    maxConcurrency: props.maxConcurrency ?? 4,
    itemSelector: {
      'certificate.$': '$$.Map.Item.Value.certificate',
      'reason.$': '$$.Map.Item.Value.reason',
      'runId.$': '$.selection.runId',
      'accountUrl.$': '$.selection.accountUrl',
      'timing.$': '$.selection.timing',
      'executionId.$': '$$.Execution.Id',
    },
    resultPath: '$.results',
  });
  issueEach.itemProcessor(iteration);
  // The Map itself can fail (a certificate item the iteration cannot process, a runtime error):
  // that still alerts. States.DataLimitExceeded and the history limit are terminal and end the
  // execution; the EventBridge rule on the execution's end alerts for those (lib/certflow.ts).
  catchInto('IssueEach', issueEach, recordRunFailure);
  const summarize = task('Summarize', '$.summary');
  catchInto('Summarize', summarize, recordRunFailure);
  const someFailed = new sfn.Fail(scope, 'SomeCertificatesFailed', {
    error: 'CertificatesFailed',
    cause: 'One or more certificates failed; the Summarize output and the SNS alert list them.',
  });
  selectDue.next(sweep);
  sweep.next(issueEach);
  sweepFailed.next(issueEach);
  issueEach.next(summarize);
  summarize.next(
    new sfn.Choice(scope, 'AllIssued?')
      .when(sfn.Condition.numberGreaterThan('$.summary.failedCount', 0), someFailed)
      .otherwise(new sfn.Succeed(scope, 'RunSucceeded')),
  );
  return selectDue;
}
