import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { ExecutionFollowError, errorMessage } from '../../core/errors';
import { errorNameOf } from './retry';

/** A Step Functions client for the operator CLI (region from the ARN, else the SDK's default chain). */
export function createStepFunctionsClient(region?: string): SFNClient {
  return new SFNClient({ region, maxAttempts: 5 });
}

/** The region in an ARN (`arn:aws:states:<region>:…`), if it has one. */
export function regionOfArn(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

export interface StartedExecution {
  executionArn: string;
  startDate: Date;
}

export interface ExecutionInfo {
  executionArn: string;
  status: string;
  startDate?: Date;
  stopDate?: Date;
}

/**
 * Starts and follows executions of the deployed state machine: StartExecution, then
 * GetExecutionHistory newest-first until the last event already seen, so each poll of a long
 * execution costs one call (API reference: GetExecutionHistory, `reverseOrder`, `nextToken`).
 */
export class StepFunctionsExecutions {
  constructor(private readonly client: SFNClient) {}

  async start(stateMachineArn: string, input: unknown, name?: string): Promise<StartedExecution> {
    const res = await this.call('StartExecution', stateMachineArn, () =>
      this.client.send(
        new StartExecutionCommand({
          stateMachineArn,
          input: JSON.stringify(input),
          ...(name ? { name } : {}),
        }),
      ),
    );
    if (!res.executionArn) {
      throw new ExecutionFollowError(`StartExecution of ${stateMachineArn} returned no execution ARN`);
    }
    return { executionArn: res.executionArn, startDate: res.startDate ?? new Date() };
  }

  /**
   * The events after event id `afterId`, oldest first. Reads pages newest-first (`reverseOrder`)
   * and stops at the first page that reaches `afterId`.
   */
  async eventsAfter(executionArn: string, afterId: number): Promise<HistoryEvent[]> {
    const fresh: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call('GetExecutionHistory', executionArn, () =>
        this.client.send(
          new GetExecutionHistoryCommand({
            executionArn,
            reverseOrder: true,
            maxResults: 1000,
            includeExecutionData: true,
            nextToken,
          }),
        ),
      );
      let reached = false;
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= afterId) {
          reached = true;
          break;
        }
        fresh.push(event);
      }
      if (reached) break;
      nextToken = page.nextToken;
    } while (nextToken);
    return fresh.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  }

  /** The most recent execution of the state machine (ListExecutions is newest first). */
  async latest(stateMachineArn: string): Promise<ExecutionInfo | undefined> {
    const res = await this.call('ListExecutions', stateMachineArn, () =>
      this.client.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1 })),
    );
    const e = res.executions?.[0];
    if (!e?.executionArn) return undefined;
    return {
      executionArn: e.executionArn,
      status: String(e.status),
      startDate: e.startDate,
      stopDate: e.stopDate,
    };
  }

  async describe(executionArn: string): Promise<ExecutionInfo> {
    const res = await this.call('DescribeExecution', executionArn, () =>
      this.client.send(new DescribeExecutionCommand({ executionArn })),
    );
    return {
      executionArn,
      status: String(res.status),
      startDate: res.startDate,
      stopDate: res.stopDate,
    };
  }

  /**
   * The output of the last time state `stateName` exited (searching the newest `maxEvents`
   * events), or undefined.
   */
  async lastStateOutput(
    executionArn: string,
    stateName: string,
    maxEvents = 3000,
  ): Promise<string | undefined> {
    let nextToken: string | undefined;
    let seen = 0;
    do {
      const page = await this.call('GetExecutionHistory', executionArn, () =>
        this.client.send(
          new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1000, nextToken }),
        ),
      );
      for (const event of page.events ?? []) {
        if (event.stateExitedEventDetails?.name === stateName) return event.stateExitedEventDetails.output;
      }
      seen += page.events?.length ?? 0;
      nextToken = page.nextToken;
    } while (nextToken && seen < maxEvents);
    return undefined;
  }

  private async call<T>(operation: string, arn: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new ExecutionFollowError(
        `${operation} for ${arn} failed: ${errorNameOf(error)}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }
}
