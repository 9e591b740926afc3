import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { loadConfigFile } from '../../lambdas/core/config/load';
import { ConfigError } from '../../lambdas/core/errors';
import { handler as recordFailure } from '../../lambdas/handlers/record-failure';
import { ENV } from '../../lambdas/runtime/env';
import { buildStepContext } from '../../lambdas/runtime/handler';
import { alerterWiring } from '../../lambdas/runtime/wiring/alerter';
import { dnsProviderWiring } from '../../lambdas/runtime/wiring/dns-provider';
import { storesWiring } from '../../lambdas/runtime/wiring/stores';
import { configForFunctions } from '../../lib/certflow';
import { publishResponse } from '../fixtures/aws/sns';

/**
 * The AWS wiring as the stack sets it up: the environment the construct writes
 * (CERTFLOW_CONFIG from `configForEnvironment`, ARNs) turned into adapters by the runtime.
 * AWS itself is out of reach, so SNS is mocked at the SDK boundary.
 */
describe('AWS runtime wiring', () => {
  const sns = mockClient(SNSClient);
  const config = loadConfigFile('certflow.config.example.json');
  const topicArn = 'arn:aws:sns:eu-west-1:123456789012:certflow-alerts';
  const saved = { ...process.env };

  beforeEach(() => {
    sns.reset();
    process.env = { ...saved, AWS_REGION: 'eu-west-1' };
    delete process.env[ENV.mode];
    process.env[ENV.config] = configForFunctions(config);
    process.env[ENV.topicArn] = topicArn;
    process.env[ENV.hostedZoneId] = 'Z0123456789ABC';
    process.env[ENV.secretNamePrefix] = 'certflow';
  });
  afterAll(() => {
    process.env = saved;
  });

  it('the RecordFailure handler alerts through the SNS topic named in its environment', async () => {
    sns.on(PublishCommand).resolves(publishResponse());
    const out = await recordFailure({
      certificate: 'www',
      failedStep: 'CreateOrder',
      error: {
        Error: 'DelegationError',
        Cause: JSON.stringify({ errorType: 'DelegationError', errorMessage: 'no CNAME' }),
      },
    });
    expect(out).toMatchObject({
      certificate: 'www',
      step: 'CreateOrder',
      error: 'DelegationError',
      message: 'no CNAME',
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: topicArn });
  });

  it('gives each certificate the stores its config names, and Route 53 for the delegated zone', () => {
    const ctx = buildStepContext('FinalizeAndStore', {
      stores: storesWiring,
      dnsProvider: dnsProviderWiring,
    });
    for (const cert of config.certificates) {
      expect(ctx.stores(cert).map((store) => store.kind)).toEqual(cert.stores);
    }
    expect(ctx.dnsProvider().name).toBe('route53');
  });

  it('names the missing environment variable instead of failing later', () => {
    delete process.env[ENV.topicArn];
    const ctx = buildStepContext('Summarize', { alerter: alerterWiring });
    expect(() => ctx.alerter()).toThrow(ConfigError);
    expect(() => ctx.alerter()).toThrow(/CERTFLOW_TOPIC_ARN is not set/);
  });
});
