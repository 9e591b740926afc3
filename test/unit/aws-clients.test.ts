import { partition } from '@aws-sdk/core/client';
import { SecretsManagerAccountStore } from '../../lambdas/adapters/account/secrets-manager-account-store';
import {
  createAcmClient,
  createRoute53Client,
  createSecretsManagerClient,
  route53GlobalRegion,
} from '../../lambdas/adapters/aws/clients';
import {
  createRoute53Client as createCliRoute53Client,
  hostedZoneNameServers,
} from '../../lambdas/adapters/aws/hosted-zone';
import { ROUTE53_PARTITIONS } from '../../lambdas/adapters/dns/route53/client';
import { Route53Provider } from '../../lambdas/adapters/dns/route53/route53-provider';
import { AcmCertificateStore } from '../../lambdas/adapters/store/acm/acm-store';
import {
  AccountStoreError,
  CertificateStoreError,
  ConfigError,
  DnsProviderThrottledError,
} from '../../lambdas/core/errors';
import { THROTTLING_HTTP_RESPONSE as ACM_THROTTLED } from '../fixtures/aws/acm';
import {
  EXAMPLE_NAME_SERVERS,
  GET_CHANGE_INSYNC_HTTP_RESPONSE,
  GET_HOSTED_ZONE_HTTP_RESPONSE,
  THROTTLING_HTTP_RESPONSE as ROUTE53_THROTTLED,
} from '../fixtures/aws/route53';
import { THROTTLING_HTTP_RESPONSE as SECRETS_THROTTLED } from '../fixtures/aws/secrets-manager';
import { EXAMPLE_CREDENTIALS, RecordingHttpHandler, signingScope } from '../support/http-recorder';

/**
 * The client factories, tested at the SDK's HTTP boundary: the SDK's real middleware (endpoint
 * rules, SigV4 signing, retry strategy, error parsing) runs; only the network is replaced by a
 * handler that records each request and answers with AWS's documented responses.
 */

const ZONE = 'acme.example.net';
const ZONE_ID = 'Z3M3LMPEXAMPLE';

describe('Route 53 client: the partition’s global endpoint, not a hard-coded us-east-1', () => {
  it.each([
    ['eu-west-1', 'route53.amazonaws.com', 'us-east-1'],
    ['us-east-1', 'route53.amazonaws.com', 'us-east-1'],
    ['cn-north-1', 'route53.amazonaws.com.cn', 'cn-northwest-1'],
    ['cn-northwest-1', 'route53.amazonaws.com.cn', 'cn-northwest-1'],
    ['us-gov-east-1', 'route53.us-gov.amazonaws.com', 'us-gov-west-1'],
    ['us-gov-west-1', 'route53.us-gov.amazonaws.com', 'us-gov-west-1'],
  ])('a function in %s sends Route 53 calls to %s, signed for %s', async (awsRegion, host, signingRegion) => {
    const handler = new RecordingHttpHandler(() => GET_CHANGE_INSYNC_HTTP_RESPONSE);
    const client = createRoute53Client(awsRegion, {
      requestHandler: handler,
      credentials: EXAMPLE_CREDENTIALS,
    });
    // The endpoint rules, resolved offline by the SDK itself.
    const endpoint = await client.config.endpointProvider({
      Region: await client.config.region(),
      UseFIPS: false,
      UseDualStack: false,
    });
    expect(endpoint.url.hostname).toBe(host);

    // And a real (signed) request through the provider goes there.
    const provider = new Route53Provider({ client, hostedZoneId: ZONE_ID, zone: ZONE });
    await expect(provider.isChangeApplied('/change/C2682N5HXP0BZ4')).resolves.toBe(true);
    expect(handler.requests).toHaveLength(1);
    const [request] = handler.requests;
    expect(request?.hostname).toBe(host);
    expect(request && signingScope(request)).toEqual({ region: signingRegion, service: 'route53' });
  });

  it("uses exactly the SDK partitions data's implicit global region for every region it lists", () => {
    // The SDK types omit implicitGlobalRegion, which partitions.json carries for every partition.
    const sdkPartitions = (region: string) =>
      partition(region) as ReturnType<typeof partition> & { implicitGlobalRegion: string };
    for (const { globalRegion, partition: name } of ROUTE53_PARTITIONS) {
      expect(sdkPartitions(globalRegion)).toMatchObject({ name, implicitGlobalRegion: globalRegion });
    }
    const sample = ['eu-central-2', 'ap-southeast-7', 'mx-central-1', 'cn-north-1', 'us-gov-east-1'];
    for (const region of sample) {
      expect(route53GlobalRegion(region)).toBe(sdkPartitions(region).implicitGlobalRegion);
    }
  });

  it('refuses a region of no known partition, naming AWS_REGION', () => {
    expect(() => route53GlobalRegion('mars-north-1')).toThrow(ConfigError);
    expect(() => route53GlobalRegion('mars-north-1')).toThrow(/AWS_REGION.*"mars-north-1"/);
    expect(route53GlobalRegion(undefined)).toBe('us-east-1');
  });
});

describe('the CLI’s Route 53 client (certflow plan/nameservers: GetHostedZone): the partition’s global endpoint too', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });
  /** No region from the environment or a profile: only what the CLI passes counts. */
  const noConfiguredRegion = () => {
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    delete process.env.AWS_PROFILE;
    process.env.AWS_CONFIG_FILE = '/nonexistent/certflow-test/config';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/certflow-test/credentials';
  };
  const nameServersVia = async (client: Awaited<ReturnType<typeof createCliRoute53Client>>) =>
    hostedZoneNameServers(client, `/hostedzone/${ZONE_ID}`);

  it.each([
    ['eu-west-1', 'route53.amazonaws.com', 'us-east-1'],
    ['cn-north-1', 'route53.amazonaws.com.cn', 'cn-northwest-1'],
    ['cn-northwest-1', 'route53.amazonaws.com.cn', 'cn-northwest-1'],
    ['us-gov-east-1', 'route53.us-gov.amazonaws.com', 'us-gov-west-1'],
  ])('--region %s: GetHostedZone goes to %s, signed for %s', async (region, host, signingRegion) => {
    noConfiguredRegion();
    const handler = new RecordingHttpHandler(() => GET_HOSTED_ZONE_HTTP_RESPONSE);
    const client = await createCliRoute53Client(region, {
      requestHandler: handler,
      credentials: EXAMPLE_CREDENTIALS,
    });
    await expect(nameServersVia(client)).resolves.toEqual([...EXAMPLE_NAME_SERVERS]);
    expect(handler.requests).toHaveLength(1);
    const [request] = handler.requests;
    expect(request?.hostname).toBe(host);
    expect(request?.path).toBe(`/2013-04-01/hostedzone/${ZONE_ID}`);
    expect(request && signingScope(request)).toEqual({ region: signingRegion, service: 'route53' });
  });

  it.each([
    ['cn-north-1', 'route53.amazonaws.com.cn', 'cn-northwest-1'],
    ['us-gov-west-1', 'route53.us-gov.amazonaws.com', 'us-gov-west-1'],
  ])(
    'without --region, follows AWS_REGION=%s (as the CloudFormation lookup does): %s, signed for %s',
    async (region, host, signingRegion) => {
      noConfiguredRegion();
      process.env.AWS_REGION = region;
      const handler = new RecordingHttpHandler(() => GET_HOSTED_ZONE_HTTP_RESPONSE);
      const client = await createCliRoute53Client(undefined, {
        requestHandler: handler,
        credentials: EXAMPLE_CREDENTIALS,
      });
      await expect(nameServersVia(client)).resolves.toEqual([...EXAMPLE_NAME_SERVERS]);
      const [request] = handler.requests;
      expect(request?.hostname).toBe(host);
      expect(request && signingScope(request)).toEqual({ region: signingRegion, service: 'route53' });
    },
  );

  it('with no region anywhere, the aws partition (us-east-1); a region of no partition is refused, naming it', async () => {
    noConfiguredRegion();
    const handler = new RecordingHttpHandler(() => GET_HOSTED_ZONE_HTTP_RESPONSE);
    const client = await createCliRoute53Client(undefined, {
      requestHandler: handler,
      credentials: EXAMPLE_CREDENTIALS,
    });
    await expect(nameServersVia(client)).resolves.toEqual([...EXAMPLE_NAME_SERVERS]);
    expect(handler.requests[0]?.hostname).toBe('route53.amazonaws.com');
    await expect(createCliRoute53Client('mars-north-1')).rejects.toThrow(/"mars-north-1"/);
  });
});

describe('one retry layer per AWS call: a throttled call reaches AWS exactly the intended number of times', () => {
  it('Route 53: the provider retries (6 attempts) and the SDK does not: 6 requests, then DnsProviderThrottledError', async () => {
    const handler = new RecordingHttpHandler(() => ROUTE53_THROTTLED);
    const client = createRoute53Client('eu-west-1', {
      requestHandler: handler,
      credentials: EXAMPLE_CREDENTIALS,
    });
    const provider = new Route53Provider({ client, hostedZoneId: ZONE_ID, zone: ZONE, baseDelayMs: 1 });

    const error = await provider.isChangeApplied('/change/C2682N5HXP0BZ4').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DnsProviderThrottledError);
    expect((error as Error).message).toContain('throttled (Throttling) 6 times');
    expect(handler.requests).toHaveLength(6);
  });

  it('Route 53 with a default SDK client would multiply: 6 provider attempts x 3 SDK attempts = 18 requests', async () => {
    // The defect this layering removes, measured with the SDK's own defaults.
    const { Route53Client } = await import('@aws-sdk/client-route-53');
    const handler = new RecordingHttpHandler(() => ROUTE53_THROTTLED);
    const client = new Route53Client({
      region: 'us-east-1',
      requestHandler: handler,
      credentials: EXAMPLE_CREDENTIALS,
    });
    const provider = new Route53Provider({ client, hostedZoneId: ZONE_ID, zone: ZONE, baseDelayMs: 1 });

    await expect(provider.isChangeApplied('/change/C2682N5HXP0BZ4')).rejects.toThrow(
      DnsProviderThrottledError,
    );
    expect(handler.requests).toHaveLength(18);
  }, 60_000);

  it('Route 53: a throttled request that then succeeds costs exactly one extra request', async () => {
    const handler = new RecordingHttpHandler((n) =>
      n === 1 ? ROUTE53_THROTTLED : GET_CHANGE_INSYNC_HTTP_RESPONSE,
    );
    const client = createRoute53Client('eu-west-1', {
      requestHandler: handler,
      credentials: EXAMPLE_CREDENTIALS,
    });
    const provider = new Route53Provider({ client, hostedZoneId: ZONE_ID, zone: ZONE, baseDelayMs: 1 });

    await expect(provider.isChangeApplied('/change/C2682N5HXP0BZ4')).resolves.toBe(true);
    expect(handler.requests).toHaveLength(2);
  });

  it('Secrets Manager: the SDK retries (3 attempts) and the account store does not: 3 requests, then AccountStoreError', async () => {
    const handler = new RecordingHttpHandler(() => SECRETS_THROTTLED);
    const store = new SecretsManagerAccountStore({
      client: createSecretsManagerClient('eu-west-1', {
        requestHandler: handler,
        credentials: EXAMPLE_CREDENTIALS,
      }),
      namePrefix: 'certflow',
    });

    const error = await store.load('https://acme-v02.api.letsencrypt.org/directory').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AccountStoreError);
    expect((error as Error).message).toContain('ThrottlingException');
    expect(handler.requests).toHaveLength(3);
    expect(handler.requests.every((r) => r.headers['x-amz-target'] === 'secretsmanager.GetSecretValue')).toBe(
      true,
    );
  }, 30_000);

  it('ACM: the SDK retries (3 attempts) and the certificate store does not: 3 requests, then CertificateStoreError', async () => {
    const handler = new RecordingHttpHandler(() => ACM_THROTTLED);
    const client = createAcmClient('eu-west-1', {
      requestHandler: handler,
      credentials: EXAMPLE_CREDENTIALS,
    });
    const store = new AcmCertificateStore({ clientFor: () => client, regions: ['eu-west-1'] });

    const error = await store.current('www').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CertificateStoreError);
    expect((error as Error).message).toContain('ListCertificates');
    expect(handler.requests).toHaveLength(3);
  }, 30_000);
});
