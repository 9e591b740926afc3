import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type { CertflowConfig } from '../../lambdas/core/config/schema';
import { longestScheduleGapHours } from '../../lambdas/core/schedule-gap';
import { monitoringWindowHours } from '../../lib/monitoring/monitoring';
import { ACCOUNT, exampleConfig, patchedConfig, REGION, type Synthesized, synth } from './synth';

type Json = Record<string, unknown>;

const ref = (s: Synthesized, construct: Parameters<Synthesized['id']>[0]) => ({ Ref: s.id(construct) });

/** Every alarm of the template, by the id of its construct (the last part of its path). */
function alarms(s: Synthesized): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const child of s.stack.certflow.monitoring.node.children) {
    const cfn = child.node.defaultChild;
    if (cfn && (cfn as { cfnResourceType?: string }).cfnResourceType === 'AWS::CloudWatch::Alarm') {
      out[child.node.id] = s.json.Resources[s.id(child)].Properties as Json;
    }
  }
  return out;
}

describe('monitoring: alarms to the alerts topic, the execution-ended rule, the dashboard', () => {
  let s: Synthesized;
  let topic: { Ref: string };
  beforeAll(() => {
    s = synth(exampleConfig());
    topic = ref(s, s.stack.certflow.topic);
  });

  it('the example schedule (twice a day, a 60-minute window) makes a 14-hour window', () => {
    expect(s.stack.certflow.monitoring.windowHours).toBe(14);
  });

  /** The metric (id, namespace, name, dimensions, statistic, period) and expression of a math alarm. */
  const mathOf = (alarm: Json) => {
    const metrics = alarm.Metrics as Json[];
    const watched = metrics.filter((m) => m.ReturnData !== false);
    const read = metrics.filter((m) => m.MetricStat);
    expect(watched).toHaveLength(1);
    expect(read).toHaveLength(1);
    const stat = read[0].MetricStat as Json;
    return {
      id: read[0].Id,
      expression: watched[0].Expression,
      metric: stat.Metric,
      stat: stat.Stat,
      period: stat.Period,
    };
  };

  // The window of one period of W hours, FILLed: CloudWatch evaluates an alarm every minute over
  // a sliding window, and fills missing data only when the evaluation range holds fewer real
  // points than the evaluation periods, so "1 of 14 hourly periods, missing breaching" was in
  // ALARM nearly all the time with two runs a day. test/cdk/alarm-evaluation.test.ts replays
  // these settings; here they are pinned.
  it('one days-to-expiry alarm per certificate: the smallest headroom of the last 14 hours, -1 when no run reported one, below 0 alarms', () => {
    const all = alarms(s);
    for (const name of ['example', 'www']) {
      const alarm = all[`DaysToExpiry-${name}`];
      expect(alarm).toEqual({
        AlarmDescription: expect.stringContaining(
          `certificate "${name}" was closer to expiry than its threshold`,
        ),
        Metrics: expect.any(Array),
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: 0,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: [topic],
        OKActions: [topic],
      });
      expect(mathOf(alarm)).toEqual({
        id: 'headroom',
        expression: 'FILL(headroom, -1)',
        metric: {
          Namespace: 'certflow',
          MetricName: 'ExpiryHeadroomDays',
          Dimensions: [
            { Name: 'Certificate', Value: name },
            { Name: 'service', Value: 'certflow' },
          ],
        },
        stat: 'Minimum',
        period: 14 * 3600,
      });
    }
  });

  it('an aggregate days-to-expiry alarm over every certificate (the run’s smallest headroom)', () => {
    const alarm = alarms(s).DaysToExpiryAny;
    expect(alarm).toEqual(
      expect.objectContaining({
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: 0,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: [topic],
        OKActions: [topic],
      }),
    );
    expect(mathOf(alarm)).toEqual({
      id: 'headroom',
      expression: 'FILL(headroom, -1)',
      metric: {
        Namespace: 'certflow',
        MetricName: 'ExpiryHeadroomDays',
        Dimensions: [{ Name: 'service', Value: 'certflow' }],
      },
      stat: 'Minimum',
      period: 14 * 3600,
    });
  });

  it('no successful run in the window: Step Functions’ ExecutionsSucceeded summed over the last 14 hours, 0 when none, below 1 alarms', () => {
    const alarm = alarms(s).NoSuccessfulRun;
    expect(alarm).toEqual(
      expect.objectContaining({
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: [topic],
        OKActions: [topic],
      }),
    );
    expect(mathOf(alarm)).toEqual({
      id: 'succeeded',
      expression: 'FILL(succeeded, 0)',
      metric: {
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsSucceeded',
        Dimensions: [{ Name: 'StateMachineArn', Value: ref(s, s.stack.certflow.stateMachine) }],
      },
      stat: 'Sum',
      period: 14 * 3600,
    });
  });

  // One alarm per status, on the metric itself: a sum of FILLed metrics has no point while the
  // timed-out and aborted metrics have no data (what FILL makes of an empty series is not
  // documented), and would never fire.
  it.each([
    ['ExecutionsFailed', 'FAILED'],
    ['ExecutionsTimedOut', 'TIMED_OUT'],
    ['ExecutionsAborted', 'ABORTED'],
  ])(
    'an execution that ends %s: Step Functions’ metric of that name, summed over 5 minutes, missing not breaching',
    (name, status) => {
      expect(alarms(s)[name]).toEqual({
        AlarmDescription: expect.stringContaining(`a renewal run ended ${status}`),
        Namespace: 'AWS/States',
        MetricName: name,
        Dimensions: [{ Name: 'StateMachineArn', Value: ref(s, s.stack.certflow.stateMachine) }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
        OKActions: [topic],
      });
    },
  );

  it('has exactly these alarms', () => {
    expect(Object.keys(alarms(s)).sort()).toEqual(
      [
        'DaysToExpiry-example',
        'DaysToExpiry-www',
        'DaysToExpiryAny',
        'ExecutionsFailed',
        'ExecutionsTimedOut',
        'ExecutionsAborted',
        'NoSuccessfulRun',
      ].sort(),
    );
    s.template.resourceCountIs('AWS::CloudWatch::Alarm', 7);
  });

  it('CloudWatch may publish to the encrypted topic: a topic policy and a key policy statement, for this account’s alarms only', () => {
    const conditions = {
      StringEquals: { 'aws:SourceAccount': ACCOUNT },
      ArnLike: {
        'aws:SourceArn': {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:cloudwatch:${REGION}:${ACCOUNT}:alarm:*`]],
        },
      },
    };
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowCloudWatchAlarmsToPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: topic,
            Condition: conditions,
          }),
        ]),
      },
    });
    const key = s.json.Resources[s.id(s.stack.certflow.topicKey)].Properties as Json;
    expect((key.KeyPolicy as { Statement: Json[] }).Statement).toContainEqual({
      Sid: 'AllowCloudWatchAlarmsToPublishToTheAlertsTopic',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: conditions,
    });
  });

  it('the EventBridge rule: this state machine’s executions that end FAILED, TIMED_OUT or ABORTED, a readable message to the topic', () => {
    const rule = s.json.Resources[s.id(s.stack.certflow.executionEndedRule)].Properties as Json;
    expect(rule.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        stateMachineArn: [ref(s, s.stack.certflow.stateMachine)],
        status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
      },
    });
    const [target] = rule.Targets as Json[];
    expect(target.Arn).toEqual(topic);
    const transformer = target.InputTransformer as { InputPathsMap: Json; InputTemplate: string };
    expect(transformer.InputPathsMap).toMatchObject({
      'detail-name': '$.detail.name',
      'detail-status': '$.detail.status',
      'detail-executionArn': '$.detail.executionArn',
    });
    expect(transformer.InputTemplate).toContain('certflow: renewal run <detail-name> ended <detail-status>.');
  });

  it('the execution-ended rule publishes with a role of its own: sns:Publish on the alerts topic and the topic key through SNS only; no policy names events.amazonaws.com', () => {
    const rules = s.template.findResources('AWS::Events::Rule');
    const matching = Object.values(rules).filter((r) =>
      JSON.stringify((r.Properties as Json).EventPattern).includes('Step Functions Execution Status Change'),
    );
    expect(matching).toHaveLength(1);
    const targets = (matching[0]?.Properties as Json | undefined)?.Targets as Json[];
    expect(targets).toHaveLength(1);
    expect(targets[0]?.Arn).toEqual(topic);
    const roleRef = targets[0]?.RoleArn as { 'Fn::GetAtt': [string, string] };
    expect(roleRef['Fn::GetAtt'][1]).toBe('Arn');
    const role = s.json.Resources[roleRef['Fn::GetAtt'][0]] as Json;
    const props = role.Properties as Json;
    expect((props.AssumeRolePolicyDocument as { Statement: Json[] }).Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' } },
    ]);
    // Exactly two statements: publish to this topic; the key's two data-key actions SNS uses, via SNS.
    expect(props.Policies).toEqual([
      {
        PolicyName: 'publishAlert',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            { Action: 'sns:Publish', Effect: 'Allow', Resource: topic },
            {
              Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
              Effect: 'Allow',
              Resource: { 'Fn::GetAtt': [s.id(s.stack.certflow.topicKey), 'Arn'] },
              Condition: { StringEquals: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` } },
            },
          ],
        },
      },
    ]);
    // No other policy of the role, and no key or topic policy naming EventBridge (a service
    // principal any account's rule could act through).
    const attached = Object.values(s.template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify((p.Properties as Json).Roles).includes(roleRef['Fn::GetAtt'][0]),
    );
    expect(attached).toEqual([]);
    const key = s.json.Resources[s.id(s.stack.certflow.topicKey)].Properties as Json;
    expect(JSON.stringify(key.KeyPolicy)).not.toContain('events.amazonaws.com');
    for (const policy of Object.values(s.template.findResources('AWS::SNS::TopicPolicy'))) {
      expect(JSON.stringify(policy.Properties)).not.toContain('events.amazonaws.com');
    }
  });

  it('the dashboard: the closest-to-expiry certificates (bounded Metrics Insights query), runs, failures by step, step durations, propagation time, alarms', () => {
    const [dashboard] = Object.values(s.template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify((dashboard.Properties as Json).DashboardBody);
    expect(body).toContain(
      'SELECT MIN(DaysToExpiry) FROM SCHEMA(\\\\\\"certflow\\\\\\", Certificate, service) GROUP BY Certificate ORDER BY MIN() ASC LIMIT 20',
    );
    expect(body).toContain(
      "SEARCH('{certflow,FailedStep,service} MetricName=\\\\\\\"CertificatesFailed\\\\\\\"', 'Sum', 86400)",
    );
    expect(body).toContain(
      "SEARCH('{certflow,Step,service} MetricName=\\\\\\\"StepDuration\\\\\\\"', 'p90', 3600)",
    );
    for (const text of [
      'PropagationSeconds',
      'ExecutionsStarted',
      'ExecutionsSucceeded',
      'CertificatesIssued',
      'CertificatesNotDue',
      'Days to expiry: the 20 certificates closest to expiry',
      'Route 53 propagation time',
      'alarm',
    ]) {
      expect(body).toContain(text);
    }
    expect(Object.keys(s.template.findOutputs('DashboardName'))).toEqual(['DashboardName']);
  });

  it('keeps the delegated hosted zone when the stack is deleted (a deleted, still delegated zone can be re-created by someone else)', () => {
    s.template.hasResource('AWS::Route53::HostedZone', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('warns at synth when nobody is subscribed to the alerts', () => {
    Annotations.fromStack(s.stack).hasWarning(
      '/CertflowTest/Certflow/Monitoring',
      Match.stringLikeRegexp('nobody is subscribed to the alerts topic'),
    );
    const subscribed = synth(patchedConfig((raw) => (raw.alerts = { emails: ['oncall@example.com'] })));
    Annotations.fromStack(subscribed.stack).hasNoWarning('*', Match.stringLikeRegexp('nobody is subscribed'));
  });
});

describe('monitoring: each alarm switchable, and bounded for many certificates', () => {
  const configWith = (monitoring: Json, extra: (raw: Json) => void = () => undefined): CertflowConfig =>
    patchedConfig((raw) => {
      raw.monitoring = monitoring;
      extra(raw);
    });

  it.each([
    ['daysToExpiry', ['DaysToExpiry-example', 'DaysToExpiry-www', 'DaysToExpiryAny']],
    ['noSuccessfulRun', ['NoSuccessfulRun']],
    ['executionsFailed', ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']],
  ] as const)('monitoring.%s.enabled: false removes exactly its alarms', (section, removed) => {
    const s = synth(configWith({ [section]: { enabled: false } }));
    const left = Object.keys(alarms(s));
    for (const id of removed) expect(left).not.toContain(id);
    expect(left).toHaveLength(7 - removed.length);
  });

  it('monitoring.dashboard.enabled: false removes the dashboard and its output', () => {
    const s = synth(configWith({ dashboard: { enabled: false } }));
    s.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(s.template.findOutputs('DashboardName')).toEqual({});
  });

  it('monitoring.acmDaysToExpiry.enabled: false: FinalizeAndStore may put no alarm and gets no alarm settings', () => {
    const s = synth(configWith({ acmDaysToExpiry: { enabled: false } }));
    const fn = s.json.Resources[s.id(s.stack.certflow.functions.FinalizeAndStore)].Properties as Json;
    expect((fn.Environment as { Variables: Json }).Variables.CERTFLOW_ALARM_NAME_PREFIX).toBeUndefined();
    expect(JSON.stringify(s.json)).not.toContain('cloudwatch:PutMetricAlarm');
  });

  it('a configured threshold goes in the descriptions; a custom namespace in every certflow metric', () => {
    const s = synth(configWith({ namespace: 'certflow-prod', daysToExpiry: { thresholdDays: 21 } }));
    const all = alarms(s);
    const namespaceOf = (alarm: Json) =>
      ((alarm.Metrics as Json[]).find((m) => m.MetricStat)?.MetricStat as { Metric: Json } | undefined)
        ?.Metric.Namespace;
    expect(namespaceOf(all['DaysToExpiry-www'])).toBe('certflow-prod');
    expect(namespaceOf(all.DaysToExpiryAny)).toBe('certflow-prod');
    expect(all['DaysToExpiry-www'].AlarmDescription).toContain('(21 days)');
  });

  it('per-certificate alarms stop at perCertificateAlarms: the resource count stays the same from 30 to 300 certificates', () => {
    const many = (n: number) =>
      configWith({ daysToExpiry: { perCertificateAlarms: 25 } }, (raw) => {
        raw.certificates = Array.from({ length: n }, (_, i) => ({
          name: `svc-${i}`,
          domains: [`svc-${i}.example.com`],
          stores: ['secretsmanager'],
        }));
        // few checks, so that many certificates fit one execution today (runs are split into batches)
        raw.timing = { propagationMaxChecks: 1, orderMaxChecks: 1 };
      });
    const resources = (n: number) => {
      const s = synth(many(n));
      return {
        total: Object.keys(s.json.Resources).length,
        alarms: Object.keys(alarms(s)).length,
        bytes: JSON.stringify(s.json).length,
      };
    };
    const small = resources(30);
    const large = resources(300);
    expect(small.alarms).toBe(25 + 5);
    expect(large.alarms).toBe(25 + 5);
    expect(large.total).toBe(small.total);
    expect(large.total).toBeLessThan(500);
    expect(large.bytes).toBeLessThan(1024 * 1024);
  });

  it('the window follows the schedule: daily at 03:00 with a 30-minute window waits 26 hours; afterHours overrides', () => {
    const daily = configWith({}, (raw) => {
      raw.schedule = { expression: 'cron(0 3 * * ? *)', flexibleWindowMinutes: 30 };
    });
    expect(monitoringWindowHours(daily)).toBe(26);
    const s = synth(daily);
    const succeeded = (alarms(s).NoSuccessfulRun.Metrics as Json[]).find((m) => m.MetricStat)?.MetricStat;
    expect(succeeded).toMatchObject({ Period: 26 * 3600 });
    expect(monitoringWindowHours(configWith({ noSuccessfulRun: { afterHours: 30 } }))).toBe(30);
  });

  it('a schedule too sparse for a CloudWatch alarm, or one it cannot evaluate, fails the synth naming the field', () => {
    const weekly = configWith({}, (raw) => {
      raw.schedule = { expression: 'rate(7 days)' };
    });
    expect(() => monitoringWindowHours(weekly)).toThrow(
      /schedule\.expression: .*170 hours.*168-hour \(7-day\)/,
    );
    const nearestWeekday = configWith({}, (raw) => {
      raw.schedule = { expression: 'cron(0 3 15W * ? *)' };
    });
    expect(() => monitoringWindowHours(nearestWeekday)).toThrow(
      /monitoring\.noSuccessfulRun\.afterHours: the schedule's longest gap cannot be computed .*W \(nearest weekday\)/,
    );
  });
});

describe('longestScheduleGapHours', () => {
  it.each([
    ['rate(12 hours)', 12],
    ['rate(1 day)', 24],
    ['rate(30 minutes)', 0.5],
    ['cron(17 3,15 * * ? *)', 12],
    ['cron(0/15 * * * ? *)', 0.25],
    // Friday 09:00 to Monday 09:00
    ['cron(0 9 ? * MON-FRI *)', 72],
    ['cron(0 9 ? * 2-6 *)', 72],
    // the last day of the month: Feb 28 to Mar 31 is the longest
    ['cron(0 0 L * ? *)', 31 * 24],
    // the first Monday of the month: up to five weeks apart
    ['cron(0 12 ? * MON#1 *)', 35 * 24],
    // the 15th to the 1st of a 31-day month
    ['cron(0 12 1,15 * ? *)', 17 * 24],
  ])('%s: %d hours', (expression, hours) => {
    expect(longestScheduleGapHours(expression)).toBe(hours);
  });

  it('refuses what it cannot evaluate', () => {
    expect(() => longestScheduleGapHours('cron(0 3 15W * ? *)')).toThrow(/nearest weekday/);
    expect(() => longestScheduleGapHours('cron(0 3 * * ? 2020)')).toThrow(/does not fire repeatedly/);
    expect(() => longestScheduleGapHours('at(2026-01-01T00:00:00)')).toThrow(/neither rate\(\) nor cron\(\)/);
  });
});
