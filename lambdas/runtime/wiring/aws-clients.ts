/**
 * AWS SDK clients, created on first use and shared by the adapters of one function (one per
 * cold start). Each SDK package is loaded only when its client is first asked for, so a local
 * run never loads the AWS SDK and a function loads only the clients its step uses. In Lambda
 * the SDK comes from the Node.js runtime (the bundles mark `@aws-sdk/*` external).
 */
import type { ACMClient } from '@aws-sdk/client-acm';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';

const clients = new Map<string, unknown>();

function memo<T>(key: string, make: () => T): T {
  if (!clients.has(key)) clients.set(key, make());
  return clients.get(key) as T;
}

/** The function's region (`AWS_REGION`, set by Lambda). */
export function functionRegion(): string | undefined {
  return process.env.AWS_REGION;
}

export function secretsManagerClient(): SecretsManagerClient {
  return memo('secretsmanager', () => {
    const sdk =
      require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');
    return new sdk.SecretsManagerClient({ region: functionRegion() });
  });
}

export function snsClient(): SNSClient {
  return memo('sns', () => {
    const sdk = require('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns');
    return new sdk.SNSClient({ region: functionRegion() });
  });
}

export function acmClient(region: string): ACMClient {
  return memo(`acm:${region}`, () => {
    const sdk = require('@aws-sdk/client-acm') as typeof import('@aws-sdk/client-acm');
    return new sdk.ACMClient({ region });
  });
}

export function route53Client(): Route53Client {
  return memo('route53', () => {
    const sdk = require('@aws-sdk/client-route-53') as typeof import('@aws-sdk/client-route-53');
    return new sdk.Route53Client({ region: 'us-east-1' });
  });
}

export function dynamoDbClient(): DynamoDBClient {
  return memo('dynamodb', () => {
    const sdk = require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb');
    return new sdk.DynamoDBClient({ region: functionRegion() });
  });
}

export function sfnClient(): SFNClient {
  return memo('sfn', () => {
    const sdk = require('@aws-sdk/client-sfn') as typeof import('@aws-sdk/client-sfn');
    return new sdk.SFNClient({ region: functionRegion() });
  });
}
