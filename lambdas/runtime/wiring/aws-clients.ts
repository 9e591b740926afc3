/**
 * The AWS SDK clients of one function, created on first use and shared by its adapters (one per
 * cold start), through the factories in lambdas/adapters/aws/clients.ts (one retry layer per
 * client). Each SDK package is loaded when its first client is made, so a local run never loads
 * the AWS SDK and a function loads only the clients its step uses.
 */
import type { ACMClient } from '@aws-sdk/client-acm';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';
import {
  createAcmClient,
  createCloudWatchClient,
  createDynamoDbClient,
  createRoute53Client,
  createSecretsManagerClient,
  createSfnClient,
  createSnsClient,
} from '../../adapters/aws/clients';

const clients = new Map<string, unknown>();

function memo<T>(key: string, make: () => T): T {
  if (!clients.has(key)) clients.set(key, make());
  return clients.get(key) as T;
}

/** The function's region (`AWS_REGION`, set by Lambda). */
export function functionRegion(): string | undefined {
  return process.env.AWS_REGION;
}

export const secretsManagerClient = (): SecretsManagerClient =>
  memo('secretsmanager', () => createSecretsManagerClient(functionRegion()));
export const snsClient = (): SNSClient => memo('sns', () => createSnsClient(functionRegion()));
export const acmClient = (region: string): ACMClient => memo(`acm:${region}`, () => createAcmClient(region));
/** Route 53: the partition's global endpoint region, derived from the function's region. */
export const route53Client = (): Route53Client =>
  memo('route53', () => createRoute53Client(functionRegion()));
export const dynamoDbClient = (): DynamoDBClient =>
  memo('dynamodb', () => createDynamoDbClient(functionRegion()));
export const sfnClient = (): SFNClient => memo('sfn', () => createSfnClient(functionRegion()));
export const cloudWatchClient = (): CloudWatchClient =>
  memo('cloudwatch', () => createCloudWatchClient(functionRegion()));
