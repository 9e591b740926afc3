import { PAYLOAD_BOUNDS } from '../../lambdas/core/state';
import { boundBatchError, jsonBytes, reduceBatchFailure } from '../../lambdas/core/steps/summarize';
import { parseAnySummarizeInput } from '../../lambdas/runtime/inputs';

/**
 * A failed `states:startExecution.sync:2` Task's Cause: the child's DescribeExecution as JSON
 * (API reference, DescribeExecution "Response Elements": executionArn, input, inputDetails,
 * name, startDate, stateMachineArn, status, stopDate, error, cause), its input included.
 */
function describeCause(fields: { input: string; error?: string; cause?: string; status?: string }): string {
  return JSON.stringify({
    ExecutionArn: 'arn:aws:states:us-east-1:123456789012:execution:IssueBatch:run-batch-1',
    Input: fields.input,
    InputDetails: { Included: true },
    Name: 'run-batch-1',
    StartDate: 1486768956878,
    StateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:IssueBatch',
    Status: fields.status ?? 'FAILED',
    StopDate: 1486768966878,
    ...(fields.error ? { Error: fields.error } : {}),
    ...(fields.cause !== undefined ? { Cause: fields.cause } : {}),
  });
}

const bigInput = JSON.stringify({ batch: [{ certificate: 'www', reason: 'x'.repeat(200_000) }] });

describe('a failed batch as the run keeps it (BatchFailed)', () => {
  it("keeps the child's ARN, status, error and cause, never its ~200 KB input, within the byte bound", () => {
    const error = {
      Error: 'States.TaskFailed',
      Cause: describeCause({
        input: bigInput,
        error: 'States.Runtime',
        cause: 'The execution reached the maximum number of history events (25000).',
      }),
    };
    expect(jsonBytes(error)).toBeGreaterThan(200_000);
    const bounded = boundBatchError(error);
    expect(jsonBytes(bounded)).toBeLessThanOrEqual(PAYLOAD_BOUNDS.batchErrorBytes);
    expect(bounded.Error).toBe('States.TaskFailed');
    expect(JSON.parse(bounded.Cause as string)).toEqual({
      ExecutionArn: 'arn:aws:states:us-east-1:123456789012:execution:IssueBatch:run-batch-1',
      Status: 'FAILED',
      Error: 'States.Runtime',
      Cause: 'The execution reached the maximum number of history events (25000).',
    });
  });

  it('cuts a long child cause (multi-byte text included) to fit, marking the cut, measured in UTF-8 bytes of the JSON', () => {
    const cause = `${'é'.repeat(50_000)}"\n${'x'.repeat(150_000)}`;
    const bounded = boundBatchError({
      Error: 'States.TaskFailed',
      Cause: describeCause({ input: bigInput, error: 'CustomError', cause }),
    });
    expect(jsonBytes(bounded)).toBeLessThanOrEqual(PAYLOAD_BOUNDS.batchErrorBytes);
    expect(jsonBytes(bounded)).toBeGreaterThan(PAYLOAD_BOUNDS.batchErrorBytes - 10);
    const child = JSON.parse(bounded.Cause as string) as { Error: string; Cause: string };
    expect(child.Error).toBe('CustomError');
    expect(child.Cause).toMatch(/^é+\.\.\.$/);
  });

  it("unwraps the Lambda-style envelope local mode's emulator puts around the Cause", () => {
    const bounded = boundBatchError({
      Error: 'States.TaskFailed',
      Cause: JSON.stringify({
        errorType: 'States.TaskFailed',
        errorMessage: describeCause({ input: bigInput, error: 'States.Timeout', status: 'TIMED_OUT' }),
        trace: [],
      }),
    });
    expect(JSON.parse(bounded.Cause as string)).toEqual({
      ExecutionArn: 'arn:aws:states:us-east-1:123456789012:execution:IssueBatch:run-batch-1',
      Status: 'TIMED_OUT',
      Error: 'States.Timeout',
    });
  });

  it('a plain-text Cause (StartExecution refused) is cut to fit as it is; no Cause stays none', () => {
    const bounded = boundBatchError({
      Error: 'StepFunctions.ExecutionLimitExceededException',
      Cause: 'y'.repeat(5000),
    });
    expect(jsonBytes(bounded)).toBeLessThanOrEqual(PAYLOAD_BOUNDS.batchErrorBytes);
    expect(bounded.Cause).toMatch(/^y+\.\.\.$/);
    expect(boundBatchError({ Error: 'States.Timeout' })).toEqual({ Error: 'States.Timeout' });
  });

  it('the Summarize function takes the failed batch as BatchFailed hands it over and returns it bounded', () => {
    const input = parseAnySummarizeInput({
      batchFailed: true,
      certificates: ['www', 'apex'],
      error: {
        Error: 'States.TaskFailed',
        Cause: describeCause({ input: bigInput, error: 'States.Runtime' }),
      },
    });
    expect('batchFailed' in input).toBe(true);
    const out = reduceBatchFailure(input as Parameters<typeof reduceBatchFailure>[0]);
    expect(out.batchFailed).toBe(true);
    expect(out.certificates).toEqual(['www', 'apex']);
    expect(jsonBytes(out.error)).toBeLessThanOrEqual(PAYLOAD_BOUNDS.batchErrorBytes);
    expect(() => parseAnySummarizeInput({ batchFailed: true, certificates: ['www'] })).toThrow(
      /failed batch input is malformed \(error: .*\); this state is produced by the Catch of RunBatch/,
    );
  });
});
