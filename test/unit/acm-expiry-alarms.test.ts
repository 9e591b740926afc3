import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AcmExpiryAlarms } from '../../lambdas/adapters/alarms/acm-expiry-alarms';
import { parseConfig } from '../../lambdas/core/config/load';
import { ExpiryAlarmError } from '../../lambdas/core/errors';
import { JsonLogger } from '../../lambdas/core/logger';
import type { ExpiryAlarmRequest, IssuedCertificate } from '../../lambdas/core/ports';
import type { StepContext } from '../../lambdas/core/steps/context';
import { putStoreExpiryAlarms } from '../../lambdas/core/steps/finalize-and-store';
import { EXAMPLE_CERTIFICATE_ARN } from '../fixtures/aws/acm';
import { alarmQuotaReached, putMetricAlarmResponse } from '../fixtures/aws/cloudwatch';

/** The alerts topic, in the certificate's region (the topic of the AWS CLI's `sns publish` example, test/fixtures/aws/sns.ts). */
const EXAMPLE_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:my-topic';
const cw = mockClient(CloudWatchClient);
beforeEach(() => cw.reset());

const alarms = () =>
  new AcmExpiryAlarms({
    client: new CloudWatchClient({ region: 'us-east-1' }),
    region: 'us-east-1',
    topicArn: EXAMPLE_TOPIC_ARN,
    namePrefix: 'certflow-AcmDaysToExpiry-',
  });
/** The example ARN, imported into a second region as `acmRegions` asks. */
const OTHER_REGION_ARN = EXAMPLE_CERTIFICATE_ARN.replace(':us-east-1:', ':eu-west-1:');
const request = (location: string): ExpiryAlarmRequest => ({
  certificate: 'www',
  location: { store: 'acm', location },
  thresholdDays: 10,
});

describe("AcmExpiryAlarms: an alarm on ACM's own DaysToExpiry per imported certificate", () => {
  // The smallest reading of the last 48 hours, 0 when ACM reported none (expired or deleted):
  // one sliding period, FILLed, so that the state never depends on how many older periods
  // CloudWatch's evaluation range holds (with "1 of 1 daily, missing breaching" a stopped metric
  // fell back on an older day's reading). test/cdk/alarm-evaluation.test.ts replays it.
  it('puts one alarm on the copy in its own region: ACM metric by CertificateArn, smallest of the last 48 hours, 0 when none, the topic on ALARM and OK', async () => {
    cw.on(PutMetricAlarmCommand).resolves(putMetricAlarmResponse());
    const names = await alarms().ensure(request(`${EXAMPLE_CERTIFICATE_ARN}, ${OTHER_REGION_ARN}`));
    expect(names).toEqual(['certflow-AcmDaysToExpiry-www']);
    expect(cw).toHaveReceivedCommandTimes(PutMetricAlarmCommand, 1);
    expect(cw.commandCalls(PutMetricAlarmCommand)[0].args[0].input).toEqual({
      AlarmName: 'certflow-AcmDaysToExpiry-www',
      AlarmDescription: expect.stringContaining(
        `certificate "www" (${EXAMPLE_CERTIFICATE_ARN}) expires in fewer than 10 days, or ACM has not reported it for 48 hours`,
      ),
      Metrics: [
        {
          Id: 'days',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/CertificateManager',
              MetricName: 'DaysToExpiry',
              Dimensions: [{ Name: 'CertificateArn', Value: EXAMPLE_CERTIFICATE_ARN }],
            },
            Period: 172800,
            Stat: 'Minimum',
          },
          ReturnData: false,
        },
        {
          Id: 'daysOrZero',
          Expression: 'FILL(days, 0)',
          Label: 'days to expiry, 0 when ACM reported none in 48 hours',
          ReturnData: true,
        },
      ],
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 10,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      ActionsEnabled: true,
      AlarmActions: [EXAMPLE_TOPIC_ARN],
      OKActions: [EXAMPLE_TOPIC_ARN],
    });
  });

  it('puts nothing for other stores, or for copies only in other regions', async () => {
    cw.on(PutMetricAlarmCommand).resolves(putMetricAlarmResponse());
    expect(
      await alarms().ensure({
        certificate: 'www',
        location: { store: 'secretsmanager', location: 'x' },
        thresholdDays: 10,
      }),
    ).toEqual([]);
    expect(await alarms().ensure(request(OTHER_REGION_ARN))).toEqual([]);
    expect(cw).toHaveReceivedCommandTimes(PutMetricAlarmCommand, 0);
  });

  it('a refusal names the alarm and the service error', async () => {
    cw.on(PutMetricAlarmCommand).rejects(alarmQuotaReached());
    const error = await alarms()
      .ensure(request(EXAMPLE_CERTIFICATE_ARN))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpiryAlarmError);
    expect((error as Error).message).toBe(
      'cloudwatch: PutMetricAlarm certflow-AcmDaysToExpiry-www failed: LimitExceededFault: The quota for alarms for this customer has already been reached.',
    );
  });
});

describe('FinalizeAndStore puts the ACM alarm after storing, and never fails for it', () => {
  const issued = {
    metadata: {
      name: 'www',
      domains: ['www.example.com'],
      keyType: 'ecdsa-p256',
      serial: '01',
      issuer: 'CN=test',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2026-01-07T00:00:00.000Z',
      storedAt: '2026-01-01T00:00:00.000Z',
    },
  } as unknown as IssuedCertificate;
  const context = (
    monitoring: Record<string, unknown>,
    ensure: (r: ExpiryAlarmRequest) => Promise<string[]>,
  ) => {
    const lines: string[] = [];
    const config = parseConfig({
      acme: { directory: 'letsencrypt-staging', email: 'ops@example.com', termsOfServiceAgreed: true },
      delegation: { zone: 'acme.example.net', domains: ['example.com'] },
      dns: { provider: 'route53', hostedZoneId: 'Z0123456789ABC' },
      monitoring,
      certificates: [{ name: 'www', domains: ['www.example.com'], stores: ['acm'] }],
    });
    const ctx = {
      config,
      logger: new JsonLogger((l) => lines.push(l)),
      expiryAlarms: () => ({ ensure }),
    } as unknown as StepContext;
    return { ctx, lines };
  };
  const acm = [{ store: 'acm', location: EXAMPLE_CERTIFICATE_ARN }];

  it('asks for the alarm with the threshold of this certificate (a 6-day certificate: 2 days)', async () => {
    const asked: ExpiryAlarmRequest[] = [];
    const { ctx } = context({}, async (r) => {
      asked.push(r);
      return ['certflow-AcmDaysToExpiry-www'];
    });
    await putStoreExpiryAlarms(ctx, issued, [{ store: 'secretsmanager', location: 'arn:x' }, ...acm]);
    expect(asked).toEqual([{ certificate: 'www', location: acm[0], thresholdDays: 2 }]);
  });

  it('a failure is a warning naming the error; switched off, nothing is asked', async () => {
    const { ctx, lines } = context({}, async () => {
      throw new ExpiryAlarmError(
        'cloudwatch: PutMetricAlarm certflow-AcmDaysToExpiry-www failed: AccessDenied',
      );
    });
    await expect(putStoreExpiryAlarms(ctx, issued, acm)).resolves.toBeUndefined();
    expect(JSON.parse(lines[0])).toMatchObject({
      level: 'warn',
      certificate: 'www',
      error: expect.stringContaining('AccessDenied'),
    });
    let called = false;
    const off = context({ acmDaysToExpiry: { enabled: false } }, async () => {
      called = true;
      return [];
    });
    await putStoreExpiryAlarms(off.ctx, issued, acm);
    expect(called).toBe(false);
  });
});
