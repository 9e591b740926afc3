import { type CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { ExpiryAlarmError, errorMessage } from '../../core/errors';
import type { ExpiryAlarmRequest, ExpiryAlarms } from '../../core/ports';
import { errorNameOf } from '../aws/retry';

/** Options of {@link AcmExpiryAlarms}. */
export interface AcmExpiryAlarmsOptions {
  /** CloudWatch client of the function's region. */
  client: CloudWatchClient;
  /** The function's (and the alerts topic's) region: alarms watch metrics of their own region only. */
  region: string;
  /** Where the alarms notify (ALARM and OK): the alerts topic. */
  topicArn: string;
  /** Alarm names are `<prefix><certificate>` (the functions' role may put only those). */
  namePrefix: string;
}

/**
 * The window of the ACM alarms, in hours: ACM publishes `DaysToExpiry` once a day at a time of
 * day it does not document, so two readings may be up to two days apart (early one day, late the
 * next). The alarm looks at the last 48 hours.
 */
export const ACM_WINDOW_HOURS = 48;

/**
 * Alarms on ACM's own `AWS/CertificateManager` `DaysToExpiry` metric (dimension `CertificateArn`),
 * one per certificate imported into ACM in the function's region, put with CloudWatch
 * `PutMetricAlarm` right after the import (the ARN exists only then). They do not depend on the
 * pipeline: ACM publishes the metric daily until the certificate expires, and stops after.
 *
 * The alarm watches `FILL(days, 0)` where `days` is the smallest reading of the last
 * {@link ACM_WINDOW_HOURS} hours (one period, evaluated every minute over a sliding window): a
 * reading under the threshold alarms at once, and a window without any reading (expired or
 * deleted certificate) is 0 days, so it alarms too. FILL rather than missing data "breaching":
 * CloudWatch fills missing data only when the evaluation range holds fewer real points than the
 * evaluation periods, so a "1 of 1, breaching" alarm would fall back on an older day's reading
 * (CloudWatch user guide, "How alarm state is evaluated when data is missing";
 * test/cdk/alarm-evaluation.test.ts replays it). Missing data stays breaching for the case where
 * CloudWatch returns no point at all.
 *
 * A certificate re-imported keeps its ARN, and putting the alarm again replaces its
 * configuration (CloudWatch API reference, PutMetricAlarm: "the update completely overwrites the
 * previous configuration").
 *
 * Copies imported into other regions (`acmRegions`) get none: an alarm watches metrics of its
 * own region, and the alerts topic is in the stack's region. The pipeline's own alarms (store
 * metadata, every run) watch every copy.
 */
export class AcmExpiryAlarms implements ExpiryAlarms {
  constructor(private readonly options: AcmExpiryAlarmsOptions) {}

  /** The alarm name for a certificate. */
  alarmName(certificate: string): string {
    return `${this.options.namePrefix}${certificate}`;
  }

  async ensure(request: ExpiryAlarmRequest): Promise<string[]> {
    if (request.location.store !== 'acm') return [];
    const arns = request.location.location
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a.split(':')[3] === this.options.region);
    const names: string[] = [];
    for (const arn of arns) {
      const name = this.alarmName(request.certificate);
      try {
        await this.options.client.send(
          new PutMetricAlarmCommand({
            AlarmName: name,
            AlarmDescription: `certflow: the ACM copy of certificate "${request.certificate}" (${arn}) expires in fewer than ${request.thresholdDays} days, or ACM has not reported it for ${ACM_WINDOW_HOURS} hours (expired or deleted). ACM's own metric: this alarm does not depend on certflow running. Renew with \`certflow run --certificate ${request.certificate} --force\`.`,
            Metrics: [
              {
                Id: 'days',
                MetricStat: {
                  Metric: {
                    Namespace: 'AWS/CertificateManager',
                    MetricName: 'DaysToExpiry',
                    Dimensions: [{ Name: 'CertificateArn', Value: arn }],
                  },
                  Period: ACM_WINDOW_HOURS * 3600,
                  Stat: 'Minimum',
                },
                ReturnData: false,
              },
              {
                Id: 'daysOrZero',
                Expression: 'FILL(days, 0)',
                Label: `days to expiry, 0 when ACM reported none in ${ACM_WINDOW_HOURS} hours`,
                ReturnData: true,
              },
            ],
            EvaluationPeriods: 1,
            DatapointsToAlarm: 1,
            Threshold: request.thresholdDays,
            ComparisonOperator: 'LessThanThreshold',
            TreatMissingData: 'breaching',
            ActionsEnabled: true,
            AlarmActions: [this.options.topicArn],
            OKActions: [this.options.topicArn],
          }),
        );
      } catch (error) {
        throw new ExpiryAlarmError(
          `cloudwatch: PutMetricAlarm ${name} failed: ${errorNameOf(error)}: ${errorMessage(error)}`,
          { cause: error },
        );
      }
      names.push(name);
    }
    return names;
  }
}
