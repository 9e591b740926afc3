/**
 * certflow's alarms and dashboard: alarms that fire when certificates stop renewing even if the
 * pipeline stops running, every one to the alerts topic (ALARM and OK), each switchable in the
 * configuration's `monitoring` section; and one dashboard.
 *
 * | alarm | watches | fires when |
 * | ----- | ------- | ---------- |
 * | `DaysToExpiry-<name>` (the first `perCertificateAlarms` certificates) | `FILL(h, -1)`, h = certflow `ExpiryHeadroomDays` {service, Certificate}, Minimum over the last W hours | a reading below 0 (days to expiry under the certificate's threshold) in the last W hours, or no reading in the last W hours |
 * | `DaysToExpiryAny` (every certificate, always) | the same over certflow `ExpiryHeadroomDays` {service}, the run's smallest | the same, for any certificate |
 * | `NoSuccessfulRun` | `FILL(s, 0)`, s = AWS/States `ExecutionsSucceeded` {StateMachineArn}, Sum over the last W hours | no execution succeeded in the last W hours |
 * | `ExecutionsFailed`, `ExecutionsTimedOut`, `ExecutionsAborted` | AWS/States metric of that name {StateMachineArn}, Sum over 5 minutes | any, in the last 5 minutes (missing data not breaching: no execution ended so) |
 *
 * W is the window: the schedule's longest gap between runs plus its flexible window, rounded up,
 * plus an hour (or `noSuccessfulRun.afterHours`). How CloudWatch evaluates these (CloudWatch user
 * guide, "Alarm evaluation" and "How alarm state is evaluated when data is missing"):
 * - An alarm is evaluated every minute over a sliding window: with a period of W hours and one
 *   evaluation period, each evaluation looks at the last W hours.
 * - Missing data is filled with the TreatMissingData value only when the evaluation range (more
 *   periods than Evaluation Periods, how many is not documented) holds fewer real data points
 *   than *Evaluation Periods*; otherwise the most recent real points are evaluated, however old.
 *   So "1 of N hourly periods, missing breaching" with two runs a day fills twelve of fourteen
 *   hours as breaching and is in ALARM all the time, while "1 of 1, missing breaching" would
 *   fall back on an older period's reading and miss a stopped pipeline.
 * - Hence one period of W hours and `FILL` in metric math: the watched series has a value in
 *   every period (a real reading, or the FILL value when there was none), so the evaluation
 *   never depends on the undocumented range, and an empty window is breaching (expiry, no
 *   successful run). Missing data is still set to breaching for the case where CloudWatch returns
 *   no point at all for a FILLed series. The execution alarms need no FILL: a missing point is
 *   "no execution ended so", and a failure is the most recent point of the range until it
 *   leaves it.
 * test/cdk/alarm-evaluation.test.ts replays 30 days of the default schedule against every alarm
 * with a model of those rules (test/support/cloudwatch-alarm-model.ts).
 *
 * One alarm per certificate does not scale: a stack holds at most 500 resources. Certificates
 * beyond `perCertificateAlarms` are covered by the aggregate alarm on a metric the functions
 * compute (the smallest headroom of the run): it names no certificate, the dashboard and
 * `certflow status` do. ACM's own `DaysToExpiry` alarms are not here: the certificate ARNs exist
 * only at run time, so FinalizeAndStore puts them (lambdas/adapters/alarms/acm-expiry-alarms.ts).
 */
import { Annotations, ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { CertflowConfig } from '../../lambdas/core/config/schema';
import { alarmedCertificates, DIMENSION, METRIC, SERVICE_DIMENSION } from '../../lambdas/core/metrics';
import { monitoringWindowHours } from '../../lambdas/core/monitoring-window';

/** Properties of {@link CertflowMonitoring}. */
export interface CertflowMonitoringProps {
  readonly config: CertflowConfig;
  /** The scheduled renewal state machine. */
  readonly stateMachine: sfn.StateMachine;
  /** Where every alarm goes (ALARM and OK). */
  readonly topic: sns.ITopic;
  /** The topic's KMS key: CloudWatch needs it to publish to the encrypted topic. */
  readonly topicKey: kms.IKey;
}

/**
 * The name prefix of the alarms FinalizeAndStore puts on ACM's DaysToExpiry: one per deployment
 * (from its secret name prefix), so its role may put only its own.
 */
export function acmAlarmNamePrefix(secretNamePrefix: string): string {
  return `${secretNamePrefix.replace(/\//g, '-')}-AcmDaysToExpiry-`;
}

/** Computed in core: the deployment rules (lambdas/core/config/deployment.ts) refuse a window past CloudWatch's range. */
export { MAX_EVALUATION_HOURS, monitoringWindowHours } from '../../lambdas/core/monitoring-window';

/** Alarms and dashboard of one certflow deployment (see the module comment). */
export class CertflowMonitoring extends Construct {
  /** Per-certificate days-to-expiry alarms, by certificate name. */
  readonly certificateExpiryAlarms: Readonly<Record<string, cloudwatch.Alarm>>;
  readonly aggregateExpiryAlarm?: cloudwatch.Alarm;
  readonly noSuccessfulRunAlarm?: cloudwatch.Alarm;
  /** The alarm on executions that end FAILED (the first of {@link executionsEndedAlarms}). */
  readonly executionsFailedAlarm?: cloudwatch.Alarm;
  /** The alarms on executions that end FAILED, TIMED_OUT or ABORTED, one per status. */
  readonly executionsEndedAlarms: readonly cloudwatch.Alarm[];
  readonly dashboard?: cloudwatch.Dashboard;
  /** The hours the expiry and no-run alarms wait (see {@link monitoringWindowHours}). */
  readonly windowHours: number;

  constructor(scope: Construct, id: string, props: CertflowMonitoringProps) {
    super(scope, id);
    const { config, stateMachine, topic } = props;
    const { monitoring } = config;
    const namespace = monitoring.namespace;
    this.windowHours = monitoringWindowHours(config);
    const window = this.windowHours;
    this.allowCloudWatchToPublish(props);
    const notify = (alarm: cloudwatch.Alarm): cloudwatch.Alarm => {
      alarm.addAlarmAction(new cwActions.SnsAction(topic));
      alarm.addOkAction(new cwActions.SnsAction(topic));
      return alarm;
    };
    if (config.alerts.emails.length === 0) {
      Annotations.of(this).addWarningV2(
        'certflow:no-alert-subscriber',
        'nobody is subscribed to the alerts topic: set alerts.emails, or subscribe to the AlertsTopicArn output (docs/deploy.md, first deploy)',
      );
    }

    // ---- days to expiry (metrics SelectDue computes from store metadata) ----
    const windowPeriod = Duration.hours(window);
    const headroom = (certificate?: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace,
        metricName: METRIC.expiryHeadroom,
        dimensionsMap: certificate
          ? { ...SERVICE_DIMENSION, [DIMENSION.certificate]: certificate }
          : { ...SERVICE_DIMENSION },
        statistic: cloudwatch.Stats.MINIMUM,
        period: windowPeriod,
      });
    const expiryAlarm = (alarmId: string, metric: cloudwatch.Metric, what: string): cloudwatch.Alarm =>
      notify(
        new cloudwatch.Alarm(this, alarmId, {
          alarmDescription: `certflow: ${what} was closer to expiry than its threshold (${monitoring.daysToExpiry.thresholdDays ?? 'a third of its lifetime, at most 10'} days) at a run in the last ${window} hours, or no run has reported it for ${window} hours. Check the run's alerts and \`certflow status\`; a certificate near expiry is renewed by \`certflow run --certificate <name> --force\`.`,
          // The smallest headroom of the last W hours, -1 (breaching) when no run reported one.
          metric: new cloudwatch.MathExpression({
            expression: 'FILL(headroom, -1)',
            usingMetrics: { headroom: metric },
            label: `smallest headroom in ${window} hours (-1: no reading)`,
            period: windowPeriod,
          }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }),
      );
    const perCertificate: Record<string, cloudwatch.Alarm> = {};
    if (monitoring.daysToExpiry.enabled) {
      const alarmed = alarmedCertificates(config.certificates, monitoring.daysToExpiry.perCertificateAlarms);
      for (const certificate of alarmed) {
        perCertificate[certificate.name] = expiryAlarm(
          `DaysToExpiry-${certificate.name}`,
          headroom(certificate.name),
          `certificate "${certificate.name}"`,
        );
      }
      this.aggregateExpiryAlarm = expiryAlarm(
        'DaysToExpiryAny',
        headroom(),
        `at least one of the ${config.certificates.length} certificates`,
      );
      const uncovered = config.certificates.length - alarmed.length;
      if (uncovered > 0) {
        Annotations.of(this).addInfo(
          `${uncovered} certificates have no alarm of their own (monitoring.daysToExpiry.perCertificateAlarms = ${alarmed.length}); the DaysToExpiryAny alarm covers them`,
        );
      }
    }
    this.certificateExpiryAlarms = perCertificate;

    // ---- no successful run within the schedule's period and flexible window ----
    if (monitoring.noSuccessfulRun.enabled) {
      this.noSuccessfulRunAlarm = notify(
        new cloudwatch.Alarm(this, 'NoSuccessfulRun', {
          alarmDescription: `certflow: no renewal run succeeded in ${window} hours (the schedule's longest gap plus its flexible window). The schedule may be disabled, the state machine failing, or every run ending with a failed certificate: see the ExecutionsFailed alarm and the run alerts.`,
          // Successful executions in the last W hours, 0 when there was none.
          metric: new cloudwatch.MathExpression({
            expression: 'FILL(succeeded, 0)',
            usingMetrics: {
              succeeded: stateMachine.metricSucceeded({
                statistic: cloudwatch.Stats.SUM,
                period: windowPeriod,
              }),
            },
            label: `successful executions in ${window} hours`,
            period: windowPeriod,
          }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }),
      );
    }

    // ---- any execution that ends FAILED, TIMED_OUT or ABORTED ----
    const period = Duration.minutes(5);
    const ended = new cloudwatch.MathExpression({
      label: 'executions that ended FAILED, TIMED_OUT or ABORTED',
      expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
      usingMetrics: {
        failed: stateMachine.metricFailed({ statistic: cloudwatch.Stats.SUM, period }),
        timedOut: stateMachine.metricTimedOut({ statistic: cloudwatch.Stats.SUM, period }),
        aborted: stateMachine.metricAborted({ statistic: cloudwatch.Stats.SUM, period }),
      },
      period,
    });
    // One alarm per metric, on the metric itself: a sum of FILLed metrics would have no point at
    // all while the timed-out and aborted metrics have no data (CloudWatch does not document
    // what FILL makes of a series with no point in the range), and would never fire.
    const endedAlarms: cloudwatch.Alarm[] = [];
    if (monitoring.executionsFailed.enabled) {
      const ending = [
        [
          'ExecutionsFailed',
          'FAILED',
          stateMachine.metricFailed({ statistic: cloudwatch.Stats.SUM, period }),
        ],
        [
          'ExecutionsTimedOut',
          'TIMED_OUT',
          stateMachine.metricTimedOut({ statistic: cloudwatch.Stats.SUM, period }),
        ],
        [
          'ExecutionsAborted',
          'ABORTED',
          stateMachine.metricAborted({ statistic: cloudwatch.Stats.SUM, period }),
        ],
      ] as const;
      for (const [alarmId, status, metric] of ending) {
        endedAlarms.push(
          notify(
            new cloudwatch.Alarm(this, alarmId, {
              alarmDescription: `certflow: a renewal run ended ${status} in the last 5 minutes. A run with failed certificates ends FAILED after its summary alert; otherwise the run died before finishing (history or payload limit, timeout, stopped). See docs/troubleshooting.md.`,
              metric,
              threshold: 1,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              evaluationPeriods: 1,
              datapointsToAlarm: 1,
              // no execution ended so: no data point, not a failure
              treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
            }),
          ),
        );
      }
      this.executionsFailedAlarm = endedAlarms[0];
    }
    this.executionsEndedAlarms = endedAlarms;

    if (monitoring.dashboard.enabled) this.dashboard = this.buildDashboard(props, ended);
  }

  /** Let CloudWatch alarms of this account publish to the encrypted alerts topic. */
  private allowCloudWatchToPublish({ topic, topicKey }: CertflowMonitoringProps): void {
    const stack = Stack.of(this);
    const conditions = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions,
      }),
    );
    // Amazon SNS developer guide, "Configure AWS KMS permissions for AWS services": CloudWatch
    // needs GenerateDataKey* and Decrypt on the topic's key.
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToTheAlertsTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions,
      }),
    );
  }

  private buildDashboard(
    props: CertflowMonitoringProps,
    ended: cloudwatch.MathExpression,
  ): cloudwatch.Dashboard {
    const { config, stateMachine } = props;
    const { namespace, dashboard } = config.monitoring;
    const day = Duration.days(1);
    const search = (metric: string, dimension: string, statistic: string, seconds: number): string =>
      `SEARCH('{${namespace},${dimension},service} MetricName="${metric}"', '${statistic}', ${seconds})`;
    const aggregate = (metricName: string, statistic: string, period: Duration, label: string) =>
      new cloudwatch.Metric({
        namespace,
        metricName,
        dimensionsMap: { ...SERVICE_DIMENSION },
        statistic,
        period,
        label,
      });
    const board = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(14),
    });
    const alarms = [
      ...Object.values(this.certificateExpiryAlarms),
      this.aggregateExpiryAlarm,
      this.noSuccessfulRunAlarm,
      ...this.executionsEndedAlarms,
    ].filter((a): a is cloudwatch.Alarm => a !== undefined);
    board.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# certflow\n${config.certificates.length} certificates · delegated zone \`${config.delegation.zone}\` · schedule \`${config.schedule.expression}\`${config.schedule.enabled ? '' : ' (**disabled**)'}. Failures: docs/troubleshooting.md.`,
        width: 24,
        height: 2,
      }),
    );
    if (alarms.length > 0) {
      board.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 3 }));
    }
    board.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Days to expiry: the ${dashboard.certificates} certificates closest to expiry`,
        left: [
          new cloudwatch.MathExpression({
            // Metrics Insights: bounded whatever the number of certificates (dashboards show two weeks)
            expression: `SELECT MIN(${METRIC.daysToExpiry}) FROM SCHEMA("${namespace}", ${DIMENSION.certificate}, service) GROUP BY ${DIMENSION.certificate} ORDER BY MIN() ASC LIMIT ${dashboard.certificates}`,
            label: '',
            period: Duration.hours(6),
          }),
        ],
        leftYAxis: { min: 0, label: 'days' },
        width: 16,
        height: 8,
      }),
      new cloudwatch.SingleValueWidget({
        title: 'Soonest expiry (days) and headroom to the threshold',
        metrics: [
          aggregate(METRIC.daysToExpiry, cloudwatch.Stats.MINIMUM, day, 'days to the soonest expiry'),
          aggregate(METRIC.expiryHeadroom, cloudwatch.Stats.MINIMUM, day, 'headroom (below 0 alarms)'),
        ],
        width: 8,
        height: 8,
      }),
    );
    board.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Runs',
        left: [
          stateMachine.metricStarted({ statistic: cloudwatch.Stats.SUM, period: day, label: 'started' }),
          stateMachine.metricSucceeded({ statistic: cloudwatch.Stats.SUM, period: day, label: 'succeeded' }),
          ended.with({ period: day, label: 'failed, timed out or aborted' }),
        ],
        width: 8,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Certificates per run',
        left: [
          aggregate(METRIC.issued, cloudwatch.Stats.SUM, day, 'issued'),
          aggregate(METRIC.failed, cloudwatch.Stats.SUM, day, 'failed'),
          aggregate(METRIC.notDue, cloudwatch.Stats.MAXIMUM, day, 'not due'),
        ],
        width: 8,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Failures by step',
        left: [
          new cloudwatch.MathExpression({
            expression: search(METRIC.failed, DIMENSION.failedStep, 'Sum', 86400),
            label: '',
            period: day,
          }),
          new cloudwatch.MathExpression({
            expression: search(METRIC.runsFailed, DIMENSION.failedStep, 'Sum', 86400),
            label: 'run',
            period: day,
          }),
        ],
        width: 8,
        height: 6,
      }),
    );
    board.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Step durations (p90, ms)',
        left: [
          new cloudwatch.MathExpression({
            expression: search(METRIC.stepDuration, DIMENSION.step, 'p90', 3600),
            label: '',
            period: Duration.hours(1),
          }),
        ],
        width: 12,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Route 53 propagation time (s): publish to every authoritative server answering',
        left: [
          aggregate(METRIC.propagationTime, cloudwatch.Stats.AVERAGE, Duration.hours(1), 'average'),
          aggregate(METRIC.propagationTime, cloudwatch.Stats.MAXIMUM, Duration.hours(1), 'maximum'),
        ],
        width: 12,
        height: 6,
      }),
    );
    return board;
  }
}
