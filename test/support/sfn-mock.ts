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

/**
 * Step Functions at the SDK boundary for `certflow run`: StartExecution answers as the Step
 * Functions developer guide's example does, and GetExecutionHistory serves a recorded history
 * the way a running execution's grows: each new poll (a call without nextToken) sees `growth`
 * more events, and pages hold at most `pageSize` events (the API returns fewer than maxResults
 * when it likes, "This is only an upper limit"), newest first when asked (`reverseOrder`).
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
  history: HistoryEvent[],
  opts: { growth?: number; pageSize?: number } = {},
): SfnMock {
  const growth = opts.growth ?? 25;
  const pageSize = opts.pageSize ?? 7;
  const sfn = mockClient(SFNClient);
  const started = history[0]?.timestamp ?? new Date();
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: started });
  let visible = 0;
  sfn.on(GetExecutionHistoryCommand).callsFake(async (input: GetExecutionHistoryCommandInput) => {
    if (input.executionArn !== EXECUTION_ARN) throw new Error(`unexpected execution ${input.executionArn}`);
    if (input.nextToken === undefined) visible = Math.min(history.length, visible + growth);
    const seen = history.slice(0, visible);
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
