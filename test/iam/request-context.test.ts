import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import type { Json } from '../support/cfn-resolve';
import type { DeployedAccount, DeployedFunction } from './harness/deployment';
import { evaluateAll } from './harness/evaluate';
import { forbiddenRequests } from './harness/forbidden';
import {
  alarmActionsContext,
  changeBatchContext,
  iamRequestsOf,
  normalizedRecordName,
} from './harness/requests';

/**
 * The request contexts the IAM harness computes, checked against AWS's documented rules and
 * examples (so the evaluation in iam-evaluation.test.ts evaluates what AWS would).
 */

describe('route53:ChangeResourceRecordSets condition keys, as the Route 53 developer guide normalizes them', () => {
  // https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html
  it.each([
    ['lowercase', 'WWW.Example.COM', 'www.example.com'],
    ['no trailing dot', 'www.example.com.', 'www.example.com'],
    ['"*" as its octal code \\052', '*.example.com', '\\052.example.com'],
    ['a name Route 53 returned with \\052 already escaped', '\\052.Example.com.', '\\052.example.com'],
    ['underscore and hyphen kept', '_acme-challenge.www-1.example.com', '_acme-challenge.www-1.example.com'],
    ['any other character escaped', 'a b.example.com', 'a\\040b.example.com'],
  ])('%s', (_rule, name, normalized) => {
    expect(normalizedRecordName(name)).toBe(normalized);
  });

  it('the AWS SDK example change batch ("To create a basic resource record set") gives one value per key', () => {
    // aws/aws-sdk-js-v3 clients/client-route-53/src/commands/ChangeResourceRecordSetsCommand.ts
    const changes = [
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: 'example.com',
          ResourceRecords: [{ Value: '192.0.2.44' }],
          TTL: 60,
          Type: 'A',
        },
      },
    ];
    expect(changeBatchContext(changes)).toEqual({
      'route53:ChangeResourceRecordSetsRecordTypes': ['A'],
      'route53:ChangeResourceRecordSetsActions': ['CREATE'],
      'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['example.com'],
    });
  });

  it('a compare-and-swap batch carries every distinct action, type and name once', () => {
    const set = (name: string) => ({ Name: name, Type: 'TXT' });
    expect(
      changeBatchContext([
        { Action: 'DELETE', ResourceRecordSet: set('A.acme.example.net.') },
        { Action: 'CREATE', ResourceRecordSet: set('a.acme.example.net.') },
        { Action: 'CREATE', ResourceRecordSet: set('b.acme.example.net.') },
      ]),
    ).toEqual({
      'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
      'route53:ChangeResourceRecordSetsActions': ['DELETE', 'CREATE'],
      'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['a.acme.example.net', 'b.acme.example.net'],
    });
  });
});

describe('cloudwatch:AlarmActions, as the CloudWatch user guide defines it', () => {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-alarm-actions.html:
  // actions "can be initiated when the alarm changes to any state, including ALARM, OK, or
  // INSUFFICIENT_DATA": the key holds the actions of every state.
  const topic = 'arn:aws:sns:us-west-2:0123456789012:my-topic';
  const other = 'arn:aws:sns:us-west-2:0123456789012:other-topic';

  it('the actions of ALARM, OK and INSUFFICIENT_DATA together, each once', () => {
    expect(alarmActionsContext({ AlarmActions: [topic], OKActions: [topic] })).toEqual({
      'cloudwatch:AlarmActions': [topic],
    });
    expect(
      alarmActionsContext({ AlarmActions: [topic], OKActions: [other], InsufficientDataActions: [topic] }),
    ).toEqual({ 'cloudwatch:AlarmActions': [topic, other] });
  });

  it('an alarm without actions carries no key', () => {
    expect(alarmActionsContext({ AlarmName: 'x' })).toEqual({});
  });
});

describe('secrets created at run time under a name prefix', () => {
  const region = 'eu-west-1';
  const accountId = '123456789012';
  const key = `arn:aws:kms:${region}:${accountId}:key/00000000-0000-4000-a000-000000000000`;
  const prefix = `arn:aws:secretsmanager:${region}:${accountId}:secret:certflow/certificate/`;
  const role = (step: TaskStep, statements: Record<string, Json>[]): DeployedFunction => ({
    step,
    roleArn: `arn:aws:iam::${accountId}:role/${step}`,
    principalArn: `arn:aws:sts::${accountId}:assumed-role/${step}/${step}`,
    policies: [{ name: 'certflow', policy: { Version: '2012-10-17', Statement: statements } }],
    environment: { CERTFLOW_SECRET_NAME_PREFIX: 'certflow' },
  });
  /** What lib/iam.ts grants FinalizeAndStore on certificate secrets, optionally without TagResource. */
  const writerStatements = (withTagResource: boolean): Record<string, Json>[] => [
    {
      Effect: 'Allow',
      Action: [
        'secretsmanager:CreateSecret',
        'secretsmanager:PutSecretValue',
        ...(withTagResource ? ['secretsmanager:TagResource'] : []),
      ],
      Resource: `${prefix}*`,
    },
    {
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: key,
      Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
    },
  ];
  const account = (withTagResource = true): DeployedAccount =>
    ({
      deployment: { partition: 'aws', region, account: accountId, stackName: 'Test' },
      functions: Object.fromEntries(
        TASK_STEPS.map((s) => [
          s,
          role(s, s === 'FinalizeAndStore' ? writerStatements(withTagResource) : []),
        ]),
      ) as Record<TaskStep, DeployedFunction>,
      keyTags: new Map([[key, {}]]),
      retainedKeys: new Set(),
      keyPolicies: new Map([
        [
          key,
          {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${accountId}:root` },
                Action: 'kms:*',
                Resource: '*',
              },
            ],
          },
        ],
      ]),
      topicPolicies: new Map(),
      secretKeys: new Map(),
      topicKeys: new Map(),
      secrets: new Map(),
      hostedZones: new Map(),
      tables: new Map(),
      stateMachine: {
        arn: `arn:aws:states:${region}:${accountId}:stateMachine:Renewal`,
        name: 'Renewal',
      },
      batchStateMachine: {
        arn: `arn:aws:states:${region}:${accountId}:stateMachine:RenewalBatch`,
        name: 'RenewalBatch',
      },
    }) as DeployedAccount;
  const arn = `${prefix}www-Ca8JGt`;
  const createdIn = (acct: DeployedAccount) => {
    acct.secrets.set(arn, { name: 'certflow/certificate/www', initialValue: undefined });
    acct.secretKeys.set(arn, key);
    return iamRequestsOf(
      {
        step: 'FinalizeAndStore',
        service: 'secretsmanager',
        operation: 'CreateSecret',
        input: {
          Name: 'certflow/certificate/www',
          KmsKeyId: key,
          Tags: [{ Key: 'certflow:certificate', Value: 'www' }],
        },
        region,
        ok: true,
        output: { ARN: arn, Name: 'certflow/certificate/www', VersionId: 'v1' },
      },
      acct,
    );
  };

  it('CreateSecret with tags and a customer managed key is four requests: CreateSecret, TagResource, kms:GenerateDataKey and kms:Decrypt, all allowed by the prefix grant', async () => {
    // API reference, CreateSecret "Required permissions": "If you include tags in the secret, you
    // also need secretsmanager:TagResource" and "To encrypt the secret with a KMS key other than
    // aws/secretsmanager, you need kms:GenerateDataKey and kms:Decrypt permission to the key".
    const acct = account();
    const requests = createdIn(acct);
    expect(requests.map((r) => [r.action, r.resource, r.via])).toEqual([
      ['secretsmanager:CreateSecret', arn, undefined],
      ['secretsmanager:TagResource', arn, 'secretsmanager:CreateSecret'],
      ['kms:GenerateDataKey', key, 'secretsmanager:CreateSecret'],
      ['kms:Decrypt', key, 'secretsmanager:CreateSecret'],
    ]);
    expect(requests[0]?.context['aws:RequestTag/certflow:certificate']).toBe('www');
    expect(requests[1]?.context['aws:TagKeys']).toEqual(['certflow:certificate']);
    expect(requests[2]?.context['kms:EncryptionContext:SecretARN']).toBe(arn);
    expect((await evaluateAll(requests, acct)).map((r) => r.verdict)).toEqual([
      'Allowed',
      'Allowed',
      'Allowed',
      'Allowed',
    ]);

    // And the forbidden list classifies it by its name: only FinalizeAndStore may write it.
    const forbidden = forbiddenRequests({
      account: acct,
      zone: 'acme.example.net',
      hostedZoneId: 'Z1',
      recorded: requests,
    });
    const writes = forbidden.filter(
      (f) => f.resource === arn && f.action === 'secretsmanager:PutSecretValue',
    );
    expect(writes.map((f) => f.step)).not.toContain('FinalizeAndStore');
    expect(writes.map((f) => f.rule)).toContain('only FinalizeAndStore writes certificate secrets');
  });

  it('without secretsmanager:TagResource, the tagged CreateSecret is denied (what AWS documents)', async () => {
    const acct = account(false);
    const verdicts = await evaluateAll(createdIn(acct), acct);
    expect(verdicts.map((r) => [r.action, r.verdict])).toEqual([
      ['secretsmanager:CreateSecret', 'Allowed'],
      ['secretsmanager:TagResource', 'ImplicitlyDenied'],
      ['kms:GenerateDataKey', 'Allowed'],
      ['kms:Decrypt', 'Allowed'],
    ]);
  });

  it('a secret that does not exist yet is authorized by its name (no suffix); a refusal AWS gives before authorizing proves nothing', () => {
    const acct = account();
    const call = {
      step: 'FinalizeAndStore' as const,
      service: 'secretsmanager' as const,
      operation: 'DescribeSecret',
      input: { SecretId: 'certflow/certificate/new' },
      region,
      ok: false,
    };
    expect(
      iamRequestsOf({ ...call, error: 'ResourceNotFoundException' }, acct).map((r) => [
        r.resource,
        r.summary,
      ]),
    ).toEqual([[`${prefix}new`, 'certificate secret new (ResourceNotFoundException)']]);
    expect(iamRequestsOf({ ...call, error: 'ThrottlingException' }, acct)).toEqual([]);
  });
});
