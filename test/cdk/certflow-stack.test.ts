import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { parseConfig } from '../../lambdas/core/config/load';
import type { CertflowConfig } from '../../lambdas/core/config/schema';
import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import { validateCertflowProps } from '../../lib/certflow-props';
import { LAMBDA_SERVICE_ERRORS, TRANSIENT_ERRORS } from '../../lib/state-machine/definition';
import { type AslState, definitionFromTemplate, taskStates } from '../../lib/state-machine/render';
import { STEP_SETTINGS } from '../../lib/state-machine/step-settings';
import { ACCOUNT, exampleConfig, patchedConfig, REGION, type Synthesized, synth } from './synth';

type Json = Record<string, unknown>;
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const partitionJoin = (...rest: unknown[]) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ...rest]],
});

/** Every IAM statement in the template, with the logical id of the role it applies to. */
function allRoleStatements(s: Synthesized): { role: string; statement: Statement }[] {
  const out: { role: string; statement: Statement }[] = [];
  for (const [logicalId, resource] of Object.entries(s.json.Resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Role') {
      for (const p of (props.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ??
        []) {
        for (const statement of p.PolicyDocument.Statement) out.push({ role: logicalId, statement });
      }
    }
    if (resource.Type === 'AWS::IAM::Policy') {
      const roles = props.Roles as { Ref: string }[];
      for (const statement of (props.PolicyDocument as { Statement: Statement[] }).Statement) {
        for (const r of roles) out.push({ role: r.Ref, statement });
      }
    }
  }
  return out;
}

/** The secret name prefix: by default the stack's name (test/cdk/synth.ts). */
const PREFIX = 'CertflowTest';

const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resources = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

describe('Certflow stack (example config: created zone, Secrets Manager + ACM)', () => {
  let s: Synthesized;
  let config: CertflowConfig;
  let ref: (c: IConstruct) => { Ref: string };
  let arn: (c: IConstruct) => { 'Fn::GetAtt': [string, string] };
  let roleId: (step: TaskStep) => string;
  let statementsOf: (step: TaskStep) => Statement[];

  beforeAll(() => {
    config = exampleConfig();
    s = synth(config);
    ref = (c) => ({ Ref: s.id(c) });
    arn = (c) => ({ 'Fn::GetAtt': [s.id(c), 'Arn'] });
    roleId = (step) => {
      const role = s.stack.certflow.functions[step].role;
      if (role === undefined) throw new Error(`${step} has no role`);
      return s.id(role);
    };
    statementsOf = (step) => {
      const role = s.json.Resources[roleId(step)];
      const policies = role.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[];
      expect(policies).toHaveLength(1);
      return policies[0].PolicyDocument.Statement;
    };
  });

  /**
   * A deployed definition (the run's or the batch's), each function's ARN replaced by
   * `function:<logical id>`, the batch state machine's by `stateMachine:<logical id>`.
   */
  const resolvedDefinition = (which: 'run' | 'batch' = 'run') =>
    definitionFromTemplate(
      s.json as Parameters<typeof definitionFromTemplate>[0],
      (v) => {
        if ((v as { Ref?: string }).Ref === 'AWS::Partition') return 'aws';
        const ref = (v as { Ref?: string }).Ref;
        if (ref !== undefined) return `stateMachine:${ref}`;
        const getAtt = v['Fn::GetAtt'];
        if (getAtt === undefined || getAtt[1] !== 'Arn') {
          throw new Error(`unexpected intrinsic ${JSON.stringify(v)}`);
        }
        return `function:${getAtt[0]}`;
      },
      which,
    );

  describe('one least-privilege role per function', () => {
    const c = () => s.stack.certflow;
    const logs = (step: TaskStep) => ({
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Effect: 'Allow',
      Resource: arn(c().node.findChild(`${step}Logs`)),
    });
    /**
     * The secrets key through Secrets Manager: this deployment's by ARN, and any key of the
     * account and region tagged for the deployment (one an earlier deployment with this prefix
     * retained still encrypts its secrets).
     */
    const secretsKms = (kmsActions: string | string[]) => [
      {
        Action: kmsActions,
        Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
        Effect: 'Allow',
        Resource: arn(c().secretsKey),
      },
      {
        Action: kmsActions,
        Condition: {
          StringEquals: {
            'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`,
            'aws:ResourceTag/certflow:deployment': PREFIX,
          },
        },
        Effect: 'Allow',
        Resource: partitionJoin(`:kms:${REGION}:${ACCOUNT}:key/*`),
      },
    ];
    /** The runtime-created secrets of one kind, granted by name prefix: `<stack name>/<kind>/*`. */
    const secrets = (kind: string) =>
      partitionJoin(`:secretsmanager:${REGION}:${ACCOUNT}:secret:${PREFIX}/${kind}/*`);
    const zoneArn = () => partitionJoin(':route53:::hostedzone/', ref(c().node.findChild('DelegatedZone')));
    const recordWrites = () => [
      {
        Action: 'route53:ChangeResourceRecordSets',
        Condition: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
            'route53:ChangeResourceRecordSetsActions': ['CREATE', 'DELETE'],
          },
          'ForAllValues:StringLike': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['*.acme.example.net'],
          },
        },
        Effect: 'Allow',
        Resource: zoneArn(),
      },
      { Action: 'route53:ListResourceRecordSets', Effect: 'Allow', Resource: zoneArn() },
    ];
    const accountRead = () => [
      { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: secrets('acme-account') },
      ...secretsKms('kms:Decrypt'),
    ];
    const publish = () => [
      { Action: 'sns:Publish', Effect: 'Allow', Resource: ref(c().topic) },
      {
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Condition: { StringEquals: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` } },
        Effect: 'Allow',
        Resource: arn(c().topicKey),
      },
    ];
    /** The new-order budget item only (its key begins `order-budget|`), in the run-state table. */
    const orderBudget = () => ({
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      Condition: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['order-budget|*'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
      Effect: 'Allow',
      Resource: arn(c().pendingTable),
    });
    const acm = (region: string) => partitionJoin(`:acm:${region}:${ACCOUNT}:certificate/*`);
    /** Finding the deployment's certificate: every certificate's tags, and the list. */
    const acmFind = () => [
      { Action: 'acm:ListTagsForCertificate', Effect: 'Allow', Resource: [acm(REGION), acm('us-east-1')] },
      { Action: 'acm:ListCertificates', Effect: 'Allow', Resource: '*' },
    ];
    /** ACM metadata reads: DescribeCertificate only on certificates tagged for this deployment. */
    const acmReads = () => [
      {
        Action: 'acm:DescribeCertificate',
        Condition: { StringEquals: { 'aws:ResourceTag/certflow:deployment': PREFIX } },
        Effect: 'Allow',
        Resource: [acm(REGION), acm('us-east-1')],
      },
      ...acmFind(),
    ];

    it('SelectDue: account secrets create/read/write, certificate metadata (DescribeSecret), ACM reads in every import region', () => {
      expect(statementsOf('SelectDue')).toEqual([
        logs('SelectDue'),
        {
          Action: [
            'secretsmanager:GetSecretValue',
            'secretsmanager:CreateSecret',
            'secretsmanager:PutSecretValue',
            'secretsmanager:TagResource',
          ],
          Effect: 'Allow',
          Resource: secrets('acme-account'),
        },
        ...secretsKms(['kms:Decrypt', 'kms:GenerateDataKey']),
        { Action: 'secretsmanager:DescribeSecret', Effect: 'Allow', Resource: secrets('certificate') },
        ...acmReads(),
        orderBudget(),
      ]);
    });

    it('CreateOrder: reads the account secret; records a CA block in the new-order budget', () => {
      expect(statementsOf('CreateOrder')).toEqual([logs('CreateOrder'), ...accountRead(), orderBudget()]);
    });

    it.each(['AnswerChallenges', 'CheckOrder'] as const)('%s: reads the account secret only', (step) => {
      expect(statementsOf(step)).toEqual([logs(step), ...accountRead()]);
    });

    it.each(['PublishRecords', 'Cleanup'] as const)(
      '%s: TXT CREATE/DELETE below the delegated zone only, in that hosted zone only; its own pending-values rights',
      (step) => {
        const table = arn(c().pendingTable);
        expect(statementsOf(step)).toEqual([
          logs(step),
          ...recordWrites(),
          step === 'PublishRecords'
            ? {
                Action: 'dynamodb:PutItem',
                // pending values only: their keys begin with the owning execution's ARN
                Condition: {
                  'ForAllValues:StringLike': {
                    'dynamodb:LeadingKeys': [partitionJoin(':states:*')],
                  },
                  Null: { 'dynamodb:LeadingKeys': 'false' },
                },
                Effect: 'Allow',
                Resource: table,
              }
            : { Action: ['dynamodb:BatchWriteItem', 'dynamodb:Scan'], Effect: 'Allow', Resource: table },
        ]);
      },
    );

    it("Cleanup's sweep may ask about the run's and the batches' executions only", () => {
      const policy = s.json.Resources[s.id(c().node.findChild('CleanupSweepPolicy'))].Properties as Json;
      expect(policy.Roles).toEqual([ref(c().functions.Cleanup.role as IConstruct)]);
      const executionsOf = (machine: IConstruct) =>
        partitionJoin(
          `:states:${REGION}:${ACCOUNT}:execution:`,
          { 'Fn::GetAtt': [s.id(machine), 'Name'] },
          ':*',
        );
      expect((policy.PolicyDocument as { Statement: Statement[] }).Statement).toEqual([
        {
          Action: 'states:DescribeExecution',
          Effect: 'Allow',
          // The batch executions own the TXT values; the run's are asked about too.
          Resource: expect.arrayContaining([
            executionsOf(c().batchStateMachine),
            executionsOf(c().stateMachine),
          ]),
        },
      ]);
      const [statement] = (policy.PolicyDocument as { Statement: Statement[] }).Statement;
      expect(statement?.Resource).toHaveLength(2);
    });

    it('CheckPropagation: route53:GetChange only', () => {
      expect(statementsOf('CheckPropagation')).toEqual([
        logs('CheckPropagation'),
        { Action: 'route53:GetChange', Effect: 'Allow', Resource: partitionJoin(':route53:::change/*') },
      ]);
    });

    it('FinalizeAndStore: the only writer of certificate secrets, pending keys and ACM imports (home + acmRegions)', () => {
      expect(statementsOf('FinalizeAndStore')).toEqual([
        logs('FinalizeAndStore'),
        {
          Action: [
            'secretsmanager:CreateSecret',
            'secretsmanager:PutSecretValue',
            'secretsmanager:DescribeSecret',
            'secretsmanager:TagResource',
            'secretsmanager:UntagResource',
          ],
          Effect: 'Allow',
          Resource: secrets('certificate'),
        },
        { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: secrets('acme-account') },
        {
          Action: [
            'secretsmanager:GetSecretValue',
            'secretsmanager:CreateSecret',
            'secretsmanager:PutSecretValue',
            'secretsmanager:TagResource',
          ],
          Effect: 'Allow',
          Resource: secrets('pending-key'),
        },
        ...secretsKms(['kms:GenerateDataKey', 'kms:Decrypt']),
        // Re-import only into a certificate this deployment imported (its tag on the resource)...
        {
          Action: 'acm:ImportCertificate',
          Condition: { StringEquals: { 'aws:ResourceTag/certflow:deployment': PREFIX } },
          Effect: 'Allow',
          Resource: [acm(REGION), acm('us-east-1')],
        },
        // ...a new import only with that tag in the request, and no tag key but certflow's...
        {
          Action: 'acm:ImportCertificate',
          Condition: {
            StringEquals: { 'aws:RequestTag/certflow:deployment': PREFIX },
            'ForAllValues:StringEquals': {
              'aws:TagKeys': ['certflow:certificate', 'certflow:deployment', 'certflow:ariCertId'],
            },
          },
          Effect: 'Allow',
          Resource: [acm(REGION), acm('us-east-1')],
        },
        // ...and of its own certificates' tags, the CertID tag only.
        {
          Action: ['acm:AddTagsToCertificate', 'acm:RemoveTagsFromCertificate'],
          Condition: {
            StringEquals: { 'aws:ResourceTag/certflow:deployment': PREFIX },
            'ForAllValues:StringEquals': { 'aws:TagKeys': ['certflow:ariCertId'] },
          },
          Effect: 'Allow',
          Resource: [acm(REGION), acm('us-east-1')],
        },
        ...acmFind(),
        // the alarm on ACM's DaysToExpiry, put after an import: this deployment's alarm names in
        // its own region only, and only alarms that notify the alerts topic
        {
          Action: 'cloudwatch:PutMetricAlarm',
          Condition: {
            'ForAllValues:StringEquals': { 'cloudwatch:AlarmActions': [ref(s.stack.certflow.topic)] },
          },
          Effect: 'Allow',
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                `:cloudwatch:${REGION}:${ACCOUNT}:alarm:${PREFIX}-AcmDaysToExpiry-*`,
              ],
            ],
          },
        },
      ]);
    });

    it('RecordFailure: publishes to the alerts topic only', () => {
      expect(statementsOf('RecordFailure')).toEqual([logs('RecordFailure'), ...publish()]);
    });

    it("Summarize: publishes to the alerts topic; reads the stores' metadata (a failed batch's outcomes), never a key", () => {
      expect(statementsOf('Summarize')).toEqual([
        logs('Summarize'),
        ...publish(),
        { Action: 'secretsmanager:DescribeSecret', Effect: 'Allow', Resource: secrets('certificate') },
        ...acmReads(),
      ]);
    });

    it('every function has its own role, without managed policies', () => {
      const roles = TASK_STEPS.map(roleId);
      expect(new Set(roles).size).toBe(TASK_STEPS.length);
      for (const r of roles) {
        expect(s.json.Resources[r].Properties?.ManagedPolicyArns).toBeUndefined();
        expect(s.json.Resources[r].Properties?.AssumeRolePolicyDocument).toEqual({
          Statement: [
            { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
          ],
          Version: '2012-10-17',
        });
      }
    });

    it('only PublishRecords and Cleanup can change DNS records; only FinalizeAndStore writes certificates', () => {
      const all = allRoleStatements(s);
      const who = (action: string) =>
        [...new Set(all.filter((x) => actions(x.statement).includes(action)).map((x) => x.role))].sort();
      expect(who('route53:ChangeResourceRecordSets')).toEqual(
        [roleId('PublishRecords'), roleId('Cleanup')].sort(),
      );
      expect(who('acm:ImportCertificate')).toEqual([roleId('FinalizeAndStore')]);
      expect(who('secretsmanager:TagResource')).toEqual(
        [roleId('SelectDue'), roleId('FinalizeAndStore')].sort(),
      );
      expect(who('secretsmanager:UntagResource')).toEqual([roleId('FinalizeAndStore')]);
      expect(who('acm:RemoveTagsFromCertificate')).toEqual([roleId('FinalizeAndStore')]);
      const certificateSecrets = JSON.stringify(
        partitionJoin(`:secretsmanager:${REGION}:${ACCOUNT}:secret:${PREFIX}/certificate/*`),
      );
      const certificateSecretWriters = all
        .filter(
          (x) =>
            actions(x.statement).includes('secretsmanager:PutSecretValue') &&
            resources(x.statement).some((r) => JSON.stringify(r) === certificateSecrets),
        )
        .map((x) => x.role);
      expect([...new Set(certificateSecretWriters)]).toEqual([roleId('FinalizeAndStore')]);
      // The functions that alert, and the execution-ended rule's own role (EventBridge's target role).
      const ruleRole = Object.keys(s.template.findResources('AWS::IAM::Role')).find((id) =>
        id.startsWith('CertflowExecutionEndedRuleRole'),
      );
      expect(who('sns:Publish').sort()).toEqual(
        [roleId('RecordFailure'), roleId('Summarize'), ruleRole].sort(),
      );
    });

    it('no "*" actions anywhere; "*" resources only where AWS allows nothing narrower', () => {
      const all = allRoleStatements(s);
      for (const { statement } of all) {
        for (const a of actions(statement)) expect(a).not.toMatch(/\*/);
      }
      const starActions = all
        .filter((x) => resources(x.statement).includes('*'))
        .flatMap((x) => actions(x.statement))
        .sort();
      expect([...new Set(starActions)]).toEqual(
        [
          // ACM: no resource-level permission for ListCertificates.
          'acm:ListCertificates',
          // Step Functions log delivery and X-Ray (CDK-generated on the state machine role).
          'logs:CreateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:DescribeLogGroups',
          'logs:DescribeResourcePolicies',
          'logs:GetLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:UpdateLogDelivery',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
          'xray:PutTelemetryRecords',
          'xray:PutTraceSegments',
        ].sort(),
      );
    });
  });

  it('secrets: none in the template (the functions create them under the prefix, with the secrets key, at run time)', () => {
    s.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const c = s.stack.certflow;
    expect(c.certificateSecretName('www')).toBe(`${PREFIX}/certificate/www`);
    for (const step of ['SelectDue', 'FinalizeAndStore'] as const) {
      const props = s.json.Resources[s.id(c.functions[step])].Properties as Json;
      const vars = (props.Environment as { Variables: Json }).Variables;
      expect(vars).toMatchObject({
        CERTFLOW_SECRET_NAME_PREFIX: PREFIX,
        CERTFLOW_SECRETS_KMS_KEY_ID: arn(c.secretsKey),
      });
    }
  });

  it('KMS: both keys rotate; the topic is encrypted with its own key', () => {
    s.template.resourceCountIs('AWS::KMS::Key', 2);
    s.template.allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    s.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arn(s.stack.certflow.topicKey) });
  });

  it('what a delete keeps: the secrets key (tagged with the deployment), the delegated zone and the log groups; none with a fixed name but the zone, so the next deployment collides with nothing', () => {
    const resources = s.json.Resources as Record<
      string,
      { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }
    >;
    const retained = Object.entries(resources).filter(([, r]) => r.DeletionPolicy === 'Retain');
    const c = s.stack.certflow;
    expect(retained.map(([id]) => id).sort()).toEqual(
      [
        s.id(c.secretsKey),
        s.id(c.node.findChild('DelegatedZone')),
        ...c.logGroups.map((g) => s.id(g)),
      ].sort(),
    );
    // The topic key goes with its topic; the run-state table goes too (values in flight only).
    expect(resources[s.id(c.topicKey)]?.DeletionPolicy).toBe('Delete');
    expect(resources[s.id(c.pendingTable)]?.DeletionPolicy).toBe('Delete');
    // A kept resource with a fixed physical name would make the next deploy fail ("already
    // exists"). The kept key and log groups have names CloudFormation generates; the zone's name
    // is its domain, and Route 53 creates another hosted zone with the same name (with other
    // name servers: docs/deploy.md, "Deploying again").
    for (const [id, r] of retained) {
      const named = Object.keys(r.Properties ?? {}).filter((k) =>
        ['LogGroupName', 'AliasName', 'TableName', 'KeyId'].includes(k),
      );
      expect({ id, named }).toEqual({ id, named: [] });
    }
    // The kept key carries the deployment's tag, which the roles are granted by: the next
    // deployment with this prefix may still use it for the secrets it encrypts.
    expect(resources[s.id(c.secretsKey)]?.Properties?.Tags).toEqual([
      { Key: 'certflow:deployment', Value: PREFIX },
    ]);
  });

  it('the prefix is the stack name unless set: another stack in the account shares no secret name, key tag, alarm name or grant', () => {
    expect(validateCertflowProps({ config }, { stackName: 'CertflowStaging' }).secretNamePrefix).toBe(
      'CertflowStaging',
    );
    expect(
      validateCertflowProps({ config, secretNamePrefix: 'certs/prod' }, { stackName: 'CertflowStaging' })
        .secretNamePrefix,
    ).toBe('certs/prod');
    // Every grant of this stack's roles that names secrets, keys by tag or alarms names its prefix.
    const scoped = allRoleStatements(s)
      .map((x) => JSON.stringify(x.statement))
      .filter((text) =>
        /secretsmanager:|aws:ResourceTag|aws:RequestTag|cloudwatch:PutMetricAlarm/.test(text),
      );
    expect(scoped.length).toBeGreaterThan(0);
    for (const text of scoped) {
      if (text.includes('zerossl-eab')) continue;
      expect(text).toContain(PREFIX);
    }
  });

  it('the topic accepts TLS only', () => {
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [ref(s.stack.certflow.topic)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('schedule: off until enabled (a first deploy runs nothing); the configured expression and flexible window start the state machine with {}', () => {
    const schedules = s.template.findResources('AWS::Scheduler::Schedule');
    expect(Object.keys(schedules)).toHaveLength(1);
    const props = Object.values(schedules)[0].Properties as Json;
    expect(props).toEqual(
      expect.objectContaining({
        ScheduleExpression: 'cron(17 3,15 * * ? *)',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 60 },
        State: 'DISABLED',
      }),
    );
    const target = props.Target as Json;
    expect(target.Arn).toEqual(ref(s.stack.certflow.stateMachine));
    expect(target.Input).toBe('{}');
    const schedulerRole = (target.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const starts = allRoleStatements(s).filter((x) => x.role === schedulerRole);
    expect(starts.map((x) => x.statement)).toEqual([
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: ref(s.stack.certflow.stateMachine) },
    ]);
  });

  it('state machine: every Task catches States.ALL and retries transient and Lambda service errors (every step is safe to repeat, FinalizeAndStore included) once the earlier invocation is over', () => {
    // The run (SelectDue, SweepLeftovers, Summarize) and the batch (each certificate's steps).
    const tasks = [
      ...taskStates(resolvedDefinition('run')),
      ...taskStates(resolvedDefinition('batch')),
    ].filter(([, t]) => String(t.Resource).startsWith('function:'));
    expect(tasks.length).toBeGreaterThanOrEqual(TASK_STEPS.length);
    const invoked = new Set(tasks.map(([, t]) => t.Resource));
    for (const step of TASK_STEPS) {
      expect(invoked).toContain(`function:${s.id(s.stack.certflow.functions[step])}`);
    }
    const stepOf = new Map(
      TASK_STEPS.map((step) => [`function:${s.id(s.stack.certflow.functions[step])}`, step]),
    );
    for (const [name, state] of tasks) {
      const step = stepOf.get(state.Resource as string) as TaskStep;
      const retried = ((state.Retry as { ErrorEquals: string[] }[] | undefined) ?? []).map(
        (r) => r.ErrorEquals,
      );
      // CDK's own Lambda retrier is off: the only Lambda.* retrier is certflow's. Every step is
      // safe to repeat (FinalizeAndStore keeps the order's key and finds a finalized order).
      expect({ name, retried }).toEqual({ name, retried: [TRANSIENT_ERRORS, LAMBDA_SERVICE_ERRORS] });
      // Lambda's timer fires before the Task's: Step Functions stops waiting at TimeoutSeconds
      // ("If the task runs longer than the specified seconds, this state fails with a
      // States.Timeout error", Task state reference) but the invocation runs on until the
      // function's Timeout ("the maximum amount of time in seconds that a Lambda function can
      // run", Lambda developer guide). With the Task waiting longer, the function's timeout
      // (Sandbox.Timedout / Lambda.Unknown, reported when the invocation has ended) comes first.
      const fn = s.json.Resources[s.id(s.stack.certflow.functions[step])].Properties as Json;
      expect(typeof fn.Timeout).toBe('number');
      expect({
        name,
        taskOutlastsFunction: (state.TimeoutSeconds as number) > (fn.Timeout as number),
      }).toEqual({
        name,
        taskOutlastsFunction: true,
      });
      // The Task's own timeout leaves the invocation running: no Task retries it, so no step
      // (publishing, storing, reserving) runs beside an earlier attempt of itself.
      expect({
        name,
        retriesStatesTimeout: retried.flat().some((e) => e === 'States.Timeout' || e === 'States.ALL'),
      }).toEqual({
        name,
        retriesStatesTimeout: false,
      });
      expect(retried.flat()).toEqual(expect.arrayContaining(['Sandbox.Timedout', 'Lambda.Unknown']));
      const catches = (state.Catch as { ErrorEquals: string[] }[] | undefined) ?? [];
      // SummarizeBatch is the batch's last state: if it fails, the batch execution fails, and
      // the run's RunBatch catches that (Summarize then reads the certificates' stores).
      expect({ name, catchesAll: catches.some((c) => c.ErrorEquals.includes('States.ALL')) }).toEqual({
        name,
        catchesAll: name !== 'SummarizeBatch',
      });
    }
  });

  it('state machine: FinalizeAndStore retries a lost or rejected ACME request (AcmeRequestError) and the Lambda service errors', () => {
    // A badNonce or a lost finalize answer in FinalizeAndStore is retried, as in
    // every other step; the second attempt finds the order finalized and stores it once.
    const finalize = taskStates(resolvedDefinition('batch')).filter(
      ([, t]) => t.Resource === `function:${s.id(s.stack.certflow.functions.FinalizeAndStore)}`,
    );
    expect(finalize.map(([name]) => name)).toEqual(['FinalizeAndStore']);
    const [, state] = finalize[0];
    expect(state.Retry).toEqual([
      expect.objectContaining({
        ErrorEquals: expect.arrayContaining(['AcmeRequestError', 'Sandbox.Timedout', 'Lambda.Unknown']),
      }),
      expect.objectContaining({
        ErrorEquals: [
          'Lambda.ServiceException',
          'Lambda.AWSLambdaException',
          'Lambda.SdkClientException',
          'Lambda.TooManyRequestsException',
        ],
      }),
    ]);
  });

  it('state machines (run and batch): Standard, X-Ray on, ERROR logs without execution data; both Maps bounded', () => {
    for (const machine of [s.stack.certflow.stateMachine, s.stack.certflow.batchStateMachine]) {
      const sm = s.json.Resources[s.id(machine)].Properties as Json;
      expect(sm.StateMachineType).toBe('STANDARD');
      expect(sm.TracingConfiguration).toEqual({ Enabled: true });
      expect(sm.LoggingConfiguration).toEqual({
        Destinations: [
          {
            CloudWatchLogsLogGroup: { LogGroupArn: arn(s.stack.certflow.node.findChild('StateMachineLogs')) },
          },
        ],
        IncludeExecutionData: false,
        Level: 'ERROR',
      });
    }
    // Certificates within a batch at renewal.maxConcurrency; batches one at a time by default.
    expect(resolvedDefinition('batch').States.IssueEach?.MaxConcurrency).toBe(config.renewal.maxConcurrency);
    expect(resolvedDefinition('run').States.IssueBatches?.MaxConcurrency).toBe(
      config.renewal.batchConcurrency,
    );
  });

  it('the run starts each batch as a child execution of the batch state machine and waits for it; a failed batch is caught', () => {
    const runBatch = (
      resolvedDefinition('run').States.IssueBatches as AslState & {
        ItemProcessor: { States: Record<string, AslState> };
      }
    ).ItemProcessor.States.RunBatch as AslState & { Parameters: Json };
    expect(runBatch.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(runBatch.Parameters.StateMachineArn).toBe(
      `stateMachine:${s.id(s.stack.certflow.batchStateMachine)}`,
    );
    // The child is associated with the parent (the console links them).
    expect(runBatch.Parameters.Input).toEqual(
      expect.objectContaining({ 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' }),
    );
    expect(runBatch.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], Next: 'BatchFailed', ResultPath: '$.error' },
    ]);
  });

  it("a failed batch's cause enters the run's state only bounded: BatchFailed is the Summarize function over the Catch's error, replacing the state; its fallback keeps the error name, never the Cause", () => {
    const states = (
      resolvedDefinition('run').States.IssueBatches as AslState & {
        ItemProcessor: { States: Record<string, AslState & { Parameters: Json }> };
      }
    ).ItemProcessor.States;
    const batchFailed = states.BatchFailed as AslState & { Parameters: Json };
    expect(batchFailed.Type).toBe('Task');
    expect(batchFailed.Resource).toBe(`function:${s.id(s.stack.certflow.functions.Summarize)}`);
    expect(batchFailed.Parameters).toEqual({
      batchFailed: true,
      'certificates.$': '$.batch[*].certificate',
      'error.$': '$.error',
    });
    expect(batchFailed).not.toHaveProperty('ResultPath');
    expect(batchFailed.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], Next: 'BatchFailedUnread', ResultPath: '$.batchFailedError' },
    ]);
    expect(states.BatchFailedUnread?.Type).toBe('Pass');
    expect(JSON.stringify(states.BatchFailedUnread?.Parameters)).not.toContain('$.error.Cause');
  });

  it('every log group has an explicit retention (90 days by default), one per function + the state machine', () => {
    const groups = s.template.findResources('AWS::Logs::LogGroup');
    expect(Object.keys(groups)).toHaveLength(TASK_STEPS.length + 1);
    for (const g of Object.values(groups)) expect(g.Properties.RetentionInDays).toBe(90);
    for (const step of TASK_STEPS) {
      const fn = s.json.Resources[s.id(s.stack.certflow.functions[step])].Properties as Json;
      expect(fn.LoggingConfig).toEqual({ LogGroup: ref(s.stack.certflow.node.findChild(`${step}Logs`)) });
    }
  });

  it('functions: nodejs24.x on arm64, the step settings (timeout, memory), one per step, with the config layer', () => {
    s.template.resourceCountIs('AWS::Lambda::Function', TASK_STEPS.length);
    for (const step of TASK_STEPS) {
      const fn = s.json.Resources[s.id(s.stack.certflow.functions[step])].Properties as Json;
      expect(fn).toEqual(
        expect.objectContaining({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Timeout: STEP_SETTINGS[step].timeoutSeconds,
          MemorySize: STEP_SETTINGS[step].memoryMb,
          Handler: 'index.handler',
          Layers: [ref(s.stack.certflow.configLayer)],
          Role: arn(s.stack.certflow.functions[step].role as IConstruct),
        }),
      );
    }
  });

  it('function environment: the config file in the layer (re-validates to the same config), the step, and only the ARNs it needs', () => {
    const c = s.stack.certflow;
    const secretsEnv = {
      CERTFLOW_SECRET_NAME_PREFIX: PREFIX,
      CERTFLOW_SECRETS_KMS_KEY_ID: arn(c.secretsKey),
    };
    const prefixOnly = { CERTFLOW_SECRET_NAME_PREFIX: PREFIX };
    const extra: Record<TaskStep, Json> = {
      SelectDue: { ...secretsEnv, CERTFLOW_PENDING_TABLE: ref(c.pendingTable) },
      CreateOrder: { ...prefixOnly, CERTFLOW_PENDING_TABLE: ref(c.pendingTable) },
      PublishRecords: {
        CERTFLOW_HOSTED_ZONE_ID: ref(c.node.findChild('DelegatedZone')),
        CERTFLOW_PENDING_TABLE: ref(c.pendingTable),
      },
      CheckPropagation: { CERTFLOW_HOSTED_ZONE_ID: ref(c.node.findChild('DelegatedZone')) },
      AnswerChallenges: prefixOnly,
      CheckOrder: prefixOnly,
      FinalizeAndStore: {
        ...secretsEnv,
        // the ACM expiry alarms it puts notify the alerts topic
        CERTFLOW_TOPIC_ARN: ref(c.topic),
        CERTFLOW_ALARM_NAME_PREFIX: `${PREFIX}-AcmDaysToExpiry-`,
      },
      Cleanup: {
        CERTFLOW_HOSTED_ZONE_ID: ref(c.node.findChild('DelegatedZone')),
        CERTFLOW_PENDING_TABLE: ref(c.pendingTable),
      },
      RecordFailure: { CERTFLOW_TOPIC_ARN: ref(c.topic) },
      Summarize: { CERTFLOW_TOPIC_ARN: ref(c.topic), ...prefixOnly },
    };
    for (const step of TASK_STEPS) {
      const fn = s.json.Resources[s.id(c.functions[step])].Properties as Json;
      const vars = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(vars).toEqual({
        CERTFLOW_CONFIG_FILE: '/opt/certflow/config.json',
        CERTFLOW_STEP: step,
        CERTFLOW_MODE: 'aws',
        ...extra[step],
      });
    }
    // The layer's asset holds certflow/config.json (extracted to /opt/certflow/config.json).
    const file = readFileSync(
      path.join(s.stack.certflow.configLayerDirectory, 'certflow', 'config.json'),
      'utf8',
    );
    expect(parseConfig(JSON.parse(file), 'config layer')).toEqual(config);
  });

  it('delegated zone: created, name servers and the primary-zone CNAMEs are outputs', () => {
    s.template.hasResourceProperties('AWS::Route53::HostedZone', { Name: 'acme.example.net.' });
    const outputs = s.template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'AlertsTopicArn',
        'BatchStateMachineArn',
        'CertificateSecretNamePrefix',
        'DashboardName',
        'DelegatedZoneId',
        'DelegatedZoneNameServers',
        'DelegationCnames',
        'StartExecutionCommand',
        'StateMachineArn',
      ].sort(),
    );
    const byId = (suffix: string) => {
      const found = outputs[suffix];
      if (!found) throw new Error(`no output ${suffix}`);
      return found.Value as unknown;
    };
    expect(byId('DelegationCnames')).toBe(
      '_acme-challenge.example.com. CNAME example.com.acme.example.net. ; ' +
        '_acme-challenge.www.example.com. CNAME www.example.com.acme.example.net.',
    );
    expect(byId('DelegatedZoneNameServers')).toEqual({
      'Fn::Join': [
        ', ',
        { 'Fn::GetAtt': [s.id(s.stack.certflow.node.findChild('DelegatedZone')), 'NameServers'] },
      ],
    });
    expect(byId('StateMachineArn')).toEqual(ref(s.stack.certflow.stateMachine));
    expect(byId('BatchStateMachineArn')).toEqual(ref(s.stack.certflow.batchStateMachine));
    expect(byId('AlertsTopicArn')).toEqual(ref(s.stack.certflow.topic));
    expect(byId('StartExecutionCommand')).toEqual({
      'Fn::Join': [
        '',
        [
          'aws stepfunctions start-execution --state-machine-arn ',
          ref(s.stack.certflow.stateMachine),
          ` --input '{"certificates":["example"],"force":true}'`,
        ],
      ],
    });
  });
});

describe('Certflow stack (existing zone, Secrets Manager only, EAB, alert emails)', () => {
  let s: Synthesized;

  beforeAll(() => {
    const config = patchedConfig((raw) => {
      raw.dns = { provider: 'route53', hostedZoneId: 'Z0123456789ABC' };
      raw.acme = {
        directory: 'zerossl',
        email: 'hostmaster@example.com',
        termsOfServiceAgreed: true,
        externalAccountBinding: {
          kid: 'kid-1',
          hmacKeySecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:zerossl-eab`,
        },
      };
      raw.alerts = { emails: ['oncall@example.com', 'pki@example.com'] };
      raw.schedule = { expression: 'rate(12 hours)', flexibleWindowMinutes: 15, enabled: false };
      raw.certificates = [{ name: 'example', domains: ['example.com', '*.example.com'] }];
    });
    s = synth(config);
  });

  it('writes only in the given hosted zone and creates none', () => {
    s.template.resourceCountIs('AWS::Route53::HostedZone', 0);
    const role = s.stack.certflow.functions.PublishRecords.role as IConstruct;
    const statements = allRoleStatements(s)
      .filter((x) => x.role === s.id(role))
      .map((x) => x.statement);
    expect(statements[1].Resource).toEqual(partitionJoin(':route53:::hostedzone/Z0123456789ABC'));
    const fn = s.json.Resources[s.id(s.stack.certflow.functions.PublishRecords)].Properties as Json;
    expect((fn.Environment as { Variables: Json }).Variables.CERTFLOW_HOSTED_ZONE_ID).toBe('Z0123456789ABC');
    const outputs = Object.keys(s.template.findOutputs('*'));
    expect(outputs.some((o) => o.includes('NameServers'))).toBe(false);
  });

  it('no ACM permissions when no certificate uses ACM; SelectDue may read the EAB secret', () => {
    const acmUsers = allRoleStatements(s).filter((x) =>
      actions(x.statement).some((a) => a.startsWith('acm:')),
    );
    expect(acmUsers).toEqual([]);
    const selectDue = s.stack.certflow.functions.SelectDue;
    const statements = allRoleStatements(s).filter((x) => x.role === s.id(selectDue.role as IConstruct));
    expect(statements.map((x) => x.statement)).toContainEqual({
      Action: 'secretsmanager:GetSecretValue',
      Effect: 'Allow',
      Resource: [
        `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:zerossl-eab`,
        `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:zerossl-eab-??????`,
      ],
    });
    const eabReaders = allRoleStatements(s).filter((x) =>
      JSON.stringify(x.statement.Resource).includes('zerossl-eab'),
    );
    expect(eabReaders.map((x) => x.role)).toEqual([s.id(selectDue.role as IConstruct)]);
    const fn = s.json.Resources[s.id(selectDue)].Properties as Json;
    expect((fn.Environment as { Variables: Json }).Variables.CERTFLOW_EAB_SECRET_ARN).toBe(
      `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:zerossl-eab`,
    );
  });

  it('alert emails subscribe to the topic; the schedule follows the config', () => {
    s.template.resourceCountIs('AWS::SNS::Subscription', 2);
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    s.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(12 hours)',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      State: 'DISABLED',
    });
  });
});
