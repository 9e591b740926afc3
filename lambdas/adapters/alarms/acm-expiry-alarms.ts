import { type CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { ExpiryAlarmError } from '../../core/errors';
import type { ExpiryAlarmRequest, ExpiryAlarms } from '../../core/ports';
import { errorMessageOf, errorNameOf } from '../aws/retry';

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
 * Alarms on ACM's own `AWS/CertificateManager` `DaysToExpiry` metric (dimension `CertificateArn`),
 * one per certificate imported into ACM in the function's region, put with CloudWatch
 * `PutMetricAlarm` right after the import (the ARN exists only then). They do not depend on the
 * pipeline: ACM publishes the metric daily until the certificate expires, and stops after, so
 * missing data is breaching (an expired or deleted certificate alarms). A certificate re-imported
 * keeps its ARN, and putting the alarm again replaces its configuration (CloudWatch API
 * reference, PutMetricAlarm: "the update completely overwrites the previous configuration").
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
            AlarmDescription: `certflow: the ACM copy of certificate "${request.certificate}" (${arn}) expires in fewer than ${request.thresholdDays} days, or ACM stopped reporting it (expired or deleted). ACM's own metric: this alarm does not depend on certflow running. Renew with \`certflow run --certificate ${request.certificate} --force\`.`,
            Namespace: 'AWS/CertificateManager',
            MetricName: 'DaysToExpiry',
            Dimensions: [{ Name: 'CertificateArn', Value: arn }],
            Statistic: 'Minimum',
            // ACM publishes DaysToExpiry once a day
            Period: 86_400,
            EvaluationPeriods: 1,
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
          `cloudwatch: PutMetricAlarm ${name} failed: ${errorNameOf(error)}: ${errorMessageOf(error)}`,
          { cause: error },
        );
      }
      names.push(name);
    }
    return names;
  }
}
