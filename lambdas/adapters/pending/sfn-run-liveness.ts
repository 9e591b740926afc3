import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { RunLiveness, RunOwner, RunStatus } from '../../core/ports';
import { errorNameOf } from '../aws/retry';

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;

/**
 * Whether the execution that wrote a value is still running: DescribeExecution's `status`
 * (RUNNING; SUCCEEDED, FAILED, TIMED_OUT, ABORTED are over; PENDING_REDRIVE counts as running,
 * since a redrive would go on to clean up). An execution Step Functions no longer knows
 * (ExecutionDoesNotExist: past its retention) is over. Anything else is unknown.
 */
export class SfnRunLiveness implements RunLiveness {
  constructor(private readonly client: SFNClient) {}

  currentProcess(): undefined {
    return undefined;
  }

  async stateOf(owner: RunOwner): Promise<RunStatus> {
    if (!EXECUTION_ARN.test(owner.executionId))
      return { state: 'unknown', reason: 'its owner is not a Step Functions execution ARN' };
    try {
      const res = await this.client.send(new DescribeExecutionCommand({ executionArn: owner.executionId }));
      return res.status === 'RUNNING' || res.status === 'PENDING_REDRIVE'
        ? { state: 'running', reason: `its execution is ${res.status}` }
        : { state: 'over', reason: `its execution ended ${res.status}` };
    } catch (error) {
      return errorNameOf(error) === 'ExecutionDoesNotExist'
        ? { state: 'over', reason: 'Step Functions no longer knows its execution (past retention)' }
        : { state: 'unknown', reason: `DescribeExecution failed (${errorNameOf(error)})` };
    }
  }
}
