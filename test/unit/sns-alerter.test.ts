import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SnsAlerter } from '../../lambdas/adapters/alerts/sns-alerter';
import { AlertError } from '../../lambdas/core/errors';
import type { CertificateFailure, RunSummary } from '../../lambdas/core/ports';
import { authorizationError, publishResponse } from '../fixtures/aws/sns';

// The AWS CLI publish example's topic ARN shape, adapted to this test's region and name.
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:certflow-alerts';
const sns = mockClient(SNSClient);

const alerter = (prefix?: string): SnsAlerter =>
  new SnsAlerter({ client: new SNSClient({ region: 'eu-west-1' }), topicArn: TOPIC, prefix });

const problem = {
  type: 'urn:ietf:params:acme:error:unauthorized',
  detail: 'Incorrect TXT record found at _acme-challenge.example.com',
  status: 403,
  subproblems: [
    {
      type: 'urn:ietf:params:acme:error:dns',
      detail: 'NXDOMAIN looking up TXT',
      identifier: { type: 'dns', value: 'www.example.com' },
    },
  ],
};

const failure: CertificateFailure = {
  certificate: 'www',
  step: 'CheckOrder',
  error: 'OrderInvalidError',
  message: 'the CA marked the order invalid',
  problem,
};

function published() {
  return sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
}

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves(publishResponse());
});

describe('SnsAlerter.certificateFailed', () => {
  it('publishes one message with a readable part, the JSON facts and filterable attributes', async () => {
    await alerter().certificateFailed(failure);

    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const [input] = published();
    expect(input?.TopicArn).toBe(TOPIC);
    expect(input?.Subject).toBe('certflow: www failed at CheckOrder');
    const message = String(input?.Message);
    const [plain, json] = message.split('--- details (JSON) ---');
    expect(plain).toContain('Step:        CheckOrder');
    expect(plain).toContain('Error:       OrderInvalidError');
    expect(plain).toContain('Incorrect TXT record found');
    expect(plain).toContain('www.example.com: urn:ietf:params:acme:error:dns NXDOMAIN looking up TXT');
    expect(JSON.parse(String(json))).toEqual({ event: 'certificate-failed', ...failure });
    expect(input?.MessageAttributes).toEqual({
      event: { DataType: 'String', StringValue: 'certificate-failed' },
      certificate: { DataType: 'String', StringValue: 'www' },
      step: { DataType: 'String', StringValue: 'CheckOrder' },
    });
  });

  it('keeps the subject under 100 printable ASCII characters', async () => {
    const name = `a${'-very-long-name'.repeat(10)}`;
    await alerter('prod-eu').certificateFailed({
      ...failure,
      certificate: name,
      step: 'Finalize\nAndStore ✓',
    });

    const subject = String(published()[0]?.Subject);
    expect(subject.length).toBeLessThan(100);
    expect(subject).toMatch(/^prod-eu: a-very-long-name/);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject.endsWith('...')).toBe(true);
  });

  it('never forwards a PEM block that slipped into a message', async () => {
    await alerter().certificateFailed({
      ...failure,
      message: 'bad key -----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY----- end',
    });
    const message = String(published()[0]?.Message);
    expect(message).not.toContain('MIGHAgEAMBMG');
    expect(message).toContain('[redacted PEM]');
  });

  it('translates SNS failures into AlertError, keeping the cause', async () => {
    const denied = authorizationError();
    sns.on(PublishCommand).rejects(denied);

    const error = await alerter()
      .certificateFailed(failure)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AlertError);
    expect((error as Error).message).toBe(
      `sns: Publish to ${TOPIC} for certificate www failed: AuthorizationErrorException: Indicates that the user has been denied access to the requested resource.`,
    );
    expect((error as Error).cause).toBe(denied);
  });
});

describe('SnsAlerter.runFinished', () => {
  const summary = (failed: CertificateFailure[]): RunSummary => ({
    runId: 'run-2025-01-01',
    issued: [
      {
        certificate: 'api',
        notAfter: '2025-04-01T00:00:00.000Z',
      },
    ],
    failed,
    skipped: [{ certificate: 'old', reason: 'valid until 2025-06-01' }],
    deferred: [],
    deferredReasons: [],
    warnings: [],
    swept: [],
  });

  it('publishes nothing when every certificate succeeded', async () => {
    await alerter().runFinished(summary([]));
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('publishes one summary listing every failure', async () => {
    const second: CertificateFailure = {
      certificate: 'mail',
      step: 'CheckPropagation',
      error: 'PropagationTimeoutError',
      message: 'ns2 never answered',
    };
    await alerter().runFinished(summary([failure, second]));

    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const [input] = published();
    expect(input?.Subject).toBe('certflow: run run-2025-01-01: 2 certificates failed');
    const message = String(input?.Message);
    expect(message).toContain('  - www at CheckOrder: OrderInvalidError: the CA marked the order invalid');
    expect(message).toContain('  - mail at CheckPropagation: PropagationTimeoutError: ns2 never answered');
    expect(message).toContain('Issued: 1. Skipped: 1. Deferred: 0. Failed: 2.');
    expect(input?.MessageAttributes?.certificate).toEqual({
      DataType: 'String.Array',
      StringValue: JSON.stringify(['www', 'mail']),
    });
    expect(input?.MessageAttributes?.event?.StringValue).toBe('run-summary');
    const json = JSON.parse(message.split('--- details (JSON) ---')[1] ?? '');
    expect(json.failed).toHaveLength(2);
  });

  it('rejects a topic that is not an SNS topic ARN', () => {
    expect(() => new SnsAlerter({ client: new SNSClient({}), topicArn: 'certflow-alerts' })).toThrow(
      /^sns: topicArn/,
    );
  });
});
