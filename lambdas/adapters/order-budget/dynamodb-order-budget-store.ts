import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { errorMessage, OrderBudgetError } from '../../core/errors';
import type { OrderBudgetStore } from '../../core/ports';
import type { OrderBudgetState } from '../../core/renewal/order-budget';
import { errorNameOf } from '../aws/retry';

/** Attempts before a budget update gives up to concurrent writers. */
const ATTEMPTS = 8;

/**
 * New-order budgets on AWS: one item per ACME directory in the run-state table (the one that
 * holds pending TXT values), key `order-budget|<directory URL>`, updated with optimistic
 * concurrency: GetItem (consistent read), then PutItem conditioned on the version read
 * (`attribute_not_exists(pk) OR version = :v`); a lost race re-reads and recomputes.
 */
export class DynamoDbOrderBudgetStore implements OrderBudgetStore {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  async update<T>(
    key: string,
    change: (state: OrderBudgetState) => { state: OrderBudgetState; result: T },
  ): Promise<T> {
    const pk: AttributeValue = { S: `order-budget|${key}` };
    const { client, tableName } = this.options;
    for (let attempt = 1; ; attempt++) {
      const res = await this.call('GetItem', () =>
        client.send(new GetItemCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true })),
      );
      const version = Number(res.Item?.version?.N ?? '0');
      let state: OrderBudgetState = { orders: [] };
      try {
        const parsed = JSON.parse(res.Item?.state?.S ?? '{"orders":[]}') as OrderBudgetState;
        if (Array.isArray(parsed.orders)) state = parsed;
      } catch {
        // a damaged item is replaced
      }
      const { state: next, result } = change(state);
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { pk, state: { S: JSON.stringify(next) }, version: { N: String(version + 1) } },
            ConditionExpression: 'attribute_not_exists(pk) OR version = :v',
            ExpressionAttributeValues: { ':v': { N: String(version) } },
          }),
        );
        return result;
      } catch (error) {
        if (errorNameOf(error) === 'ConditionalCheckFailedException' && attempt < ATTEMPTS) continue;
        throw new OrderBudgetError(
          `dynamodb: PutItem of the new-order budget for ${key} on ${tableName} failed: ${errorNameOf(error)}: ${errorMessage(error)}`,
          { cause: error },
        );
      }
    }
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new OrderBudgetError(
        `dynamodb: ${operation} of a new-order budget on ${this.options.tableName} failed: ${errorNameOf(error)}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }
}
