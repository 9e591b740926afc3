import {
  GetExecutionHistoryCommand,
  type GetExecutionHistoryCommandInput,
  type HistoryEvent,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  SFNClient,
  type SFNClientResolvedConfig,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { executionDoesNotExist } from '../fixtures/aws/step-functions';
import type { AwsHistories } from './sfn-history';

/**
 * Step Functions at the SDK boundary for `certflow run`: StartExecution answers as the Step
 * Functions developer guide's example does, and GetExecutionHistory serves the recorded history
 * of each execution (the run's under the started execution's ARN, each batch's under its own)
 * the way a running execution's grows: each new poll of an execution (a call without nextToken)
 * sees `growth` more of its events, and pages hold at most `pageSize` events (the API returns
 * fewer than maxResults when it likes, "This is only an upper limit"), newest first when asked
 * (`reverseOrder`). The response is `{events, nextToken?}` (API reference, GetExecutionHistory,
 * "Response Syntax": https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
 * An execution it has no history for answers as AWS does for an unknown one:
 * ExecutionDoesNotExist (test/fixtures/aws/step-functions.ts, [SDK-ERR]).
 */

/**
 * StartExecution response, from the Step Functions Developer Guide, "Creating a Step Functions
 * API using API Gateway" (https://docs.aws.amazon.com/step-functions/latest/dg/tutorial-api-gateway.html):
 *   {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:HelloWorld:MyExecution",
 *    "startDate": 1486768956.878}
 * `startDate` is replaced by the start of the recorded run the history comes from.
 */
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:HelloWorld';
export const EXECUTION_ARN = 'arn:aws:states:us-east-1:123456789012:execution:HelloWorld:MyExecution';

export interface SfnMock {
  sfn: AwsStub<ServiceInputTypes, ServiceOutputTypes, SFNClientResolvedConfig>;
  /** Inputs of every GetExecutionHistory call. */
  historyCalls(): GetExecutionHistoryCommandInput[];
}

export function mockStepFunctions(
  histories: AwsHistories,
  opts: { growth?: number; pageSize?: number } = {},
): SfnMock {
  const growth = opts.growth ?? 25;
  const pageSize = opts.pageSize ?? 7;
  const sfn = mockClient(SFNClient);
  const byArn = new Map<string, HistoryEvent[]>([[EXECUTION_ARN, histories.run], ...histories.batches]);
  const started = histories.run[0]?.timestamp ?? new Date();
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: started });
  const visible = new Map<string, number>();
  sfn.on(GetExecutionHistoryCommand).callsFake(async (input: GetExecutionHistoryCommandInput) => {
    const arn = input.executionArn ?? '';
    const history = byArn.get(arn);
    if (!history) throw executionDoesNotExist();
    if (input.nextToken === undefined) {
      visible.set(arn, Math.min(history.length, (visible.get(arn) ?? 0) + growth));
    }
    const seen = history.slice(0, visible.get(arn) ?? 0);
    const ordered = input.reverseOrder ? [...seen].reverse() : seen;
    const from = input.nextToken ? Number(input.nextToken) : 0;
    const size = Math.min(pageSize, input.maxResults || 100);
    const page = ordered.slice(from, from + size);
    return {
      events: page,
      ...(from + size < ordered.length ? { nextToken: String(from + size) } : {}),
    };
  });
  return {
    sfn,
    historyCalls: () =>
      sfn
        .commandCalls(GetExecutionHistoryCommand)
        .map((c) => c.args[0].input as GetExecutionHistoryCommandInput),
  };
}
