import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { errorMessage, PendingRecordError } from '../../core/errors';
import type { PendingRecord, PendingRecordStore, TxtRecord } from '../../core/ports';
import { errorNameOf } from '../aws/retry';

/** Options of {@link DynamoDbPendingRecordStore}. */
export interface DynamoDbPendingRecordStoreOptions {
  /** Created once per cold start by the caller. */
  client: DynamoDBClient;
  /** The stack's pending-values table (partition key `pk`, a string). */
  tableName: string;
}

/** DynamoDB's limit on the requests in one BatchWriteItem. */
const BATCH = 25;

/** The item key of one value: its owning execution, name and value (a value is public, RFC 8555 §8.4). */
export function pendingKey(
  executionId: string,
  fqdn: string,
  value: string,
  addUnanswered?: boolean,
): string {
  return `${executionId}|${fqdn}|${value}${addUnanswered ? '|add-unanswered' : ''}`;
}

/**
 * Pending TXT values on AWS: one DynamoDB item per value written and not yet removed, keyed by
 * (execution, name, value), so concurrent executions never touch each other's items. Items are
 * written (PutItem) before the value goes to Route 53 and deleted (BatchWriteItem DeleteRequest)
 * after it is removed; the run-start sweep reads them all (Scan: the table holds only values in
 * flight). No TTL: an item outlives its value only until a sweep removes both.
 */
export class DynamoDbPendingRecordStore implements PendingRecordStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: DynamoDbPendingRecordStoreOptions) {
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(String(options.tableName ?? ''))) {
      throw new PendingRecordError(`dynamodb: "${String(options.tableName)}" is not a DynamoDB table name`);
    }
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async add(records: PendingRecord[]): Promise<void> {
    for (const r of records) {
      const item: Record<string, AttributeValue> = {
        pk: { S: pendingKey(r.owner.executionId, r.fqdn, r.value, r.addUnanswered) },
        fqdn: { S: r.fqdn },
        value: { S: r.value },
        certificate: { S: r.certificate },
        executionId: { S: r.owner.executionId },
        writtenAt: { S: r.writtenAt },
        ...(r.addUnanswered ? { addUnanswered: { BOOL: true } } : {}),
      };
      await this.call('PutItem', () =>
        this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item })),
      );
    }
  }

  async remove(records: (TxtRecord & { executionId: string; addUnanswered?: boolean })[]): Promise<void> {
    for (let i = 0; i < records.length; i += BATCH) {
      let requests: { DeleteRequest: { Key: Record<string, AttributeValue> } }[] = records
        .slice(i, i + BATCH)
        .map((r) => ({
          DeleteRequest: {
            Key: { pk: { S: pendingKey(r.executionId, r.fqdn, r.value, r.addUnanswered) } },
          },
        }));
      // Unprocessed requests are returned, not failed: send them again (bounded).
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt >= 5) {
          throw new PendingRecordError(
            `dynamodb: BatchWriteItem on ${this.tableName} left ${requests.length} deletions unprocessed after 5 attempts`,
          );
        }
        const res = await this.call('BatchWriteItem', () =>
          this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: requests } })),
        );
        requests = (res.UnprocessedItems?.[this.tableName] ?? []).flatMap((w) =>
          w.DeleteRequest?.Key ? [{ DeleteRequest: { Key: w.DeleteRequest.Key } }] : [],
        );
        if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  async list(): Promise<PendingRecord[]> {
    const out: PendingRecord[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const res = await this.call('Scan', () =>
        this.client.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start })),
      );
      for (const item of res.Items ?? []) {
        const s = (k: string) => item[k]?.S;
        const fqdn = s('fqdn');
        const value = s('value');
        const executionId = s('executionId');
        if (!fqdn || !value || !executionId) continue;
        out.push({
          fqdn,
          value,
          certificate: s('certificate') ?? '?',
          owner: { executionId },
          writtenAt: s('writtenAt') ?? new Date(0).toISOString(),
          ...(item.addUnanswered?.BOOL === true ? { addUnanswered: true as const } : {}),
        });
      }
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new PendingRecordError(
        `dynamodb: ${operation} on ${this.tableName} failed: ${errorNameOf(error)}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }
}
