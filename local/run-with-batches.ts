/**
 * One renewal run executed locally as Step Functions executes it: the run's definition, whose
 * RunBatch Task (`states:startExecution.sync:2`) starts one execution of the batch definition
 * per batch and waits for it. Each batch is its own execution, with its own history, counted and
 * limited on its own; a batch that does not succeed fails RunBatch as AWS reports it
 * (`States.TaskFailed`, the child's DescribeExecution as the Cause).
 */

import { type CertflowDefinitions, LOCAL_BATCH_STATE_MACHINE_ARN } from '../lib/state-machine/asl';
import { type EventLog, type ExecuteOptions, executeLocally, type LocalExecution } from './execute';
import { LambdaInvocationError } from './lambda-runtime';

/** One batch's child execution. */
export interface BatchExecution {
  name: string;
  arn: string;
  certificates: string[];
  execution?: LocalExecution;
}

export interface RunWithBatchesOptions extends Omit<ExecuteOptions, 'startExecution' | 'onEvent'> {
  /** The run execution's name and ARN (`$$.Execution`). */
  execution: { name: string; arn: string };
  onEvent?: (event: EventLog) => void;
  /** Sees each batch's events; called once per batch before it starts. */
  onBatch?: (batch: BatchExecution, index: number) => ((event: EventLog) => void) | undefined;
}

/** Execute `definitions.run` with each batch executed as a child execution of `definitions.batch`. */
export async function executeRunWithBatches(
  definitions: CertflowDefinitions,
  input: unknown,
  options: RunWithBatchesOptions,
): Promise<{ execution: LocalExecution; batches: BatchExecution[] }> {
  const { execution: run, onBatch, onEvent, ...common } = options;
  const batches: BatchExecution[] = [];
  const startBatch = async (parameters: unknown): Promise<Record<string, unknown>> => {
    const batchInput = (parameters as { Input?: { batch?: { certificate: string }[] } }).Input ?? {};
    const name = `${run.name}-batch-${batches.length + 1}`;
    const arn = `arn:aws:states:us-east-1:000000000000:execution:certflow-IssueBatch:${name}`;
    const record: BatchExecution = {
      name,
      arn,
      certificates: (batchInput.batch ?? []).map((b) => b.certificate),
    };
    const batchEvents = onBatch?.(record, batches.length);
    batches.push(record);
    const started = new Date();
    record.execution = await executeLocally(definitions.batch, batchInput, {
      ...common,
      ...(batchEvents ? { onEvent: batchEvents } : {}),
      context: { Execution: { Id: arn, Name: name } },
    });
    // DescribeExecution's fields (API reference, DescribeExecution "Response Elements"), the
    // input included, as a failed startExecution.sync Task's Cause carries them.
    const describe = {
      ExecutionArn: arn,
      Input: JSON.stringify(batchInput),
      InputDetails: { Included: true },
      StateMachineArn: LOCAL_BATCH_STATE_MACHINE_ARN,
      Name: name,
      StartDate: started.getTime(),
      StopDate: Date.now(),
      Status: record.execution.status,
    };
    if (record.execution.status === 'SUCCEEDED') return { ...describe, Output: record.execution.output };
    throw new LambdaInvocationError({
      errorType: 'States.TaskFailed',
      errorMessage: JSON.stringify({
        ...describe,
        Error: record.execution.failed?.Error,
        Cause: record.execution.failed?.Cause,
      }),
      trace: [],
    });
  };
  const execution = await executeLocally(definitions.run, input, {
    ...common,
    ...(onEvent ? { onEvent } : {}),
    context: { Execution: { Id: run.arn, Name: run.name } },
    startExecution: startBatch as (p: unknown) => Promise<never>,
  });
  return { execution, batches };
}
