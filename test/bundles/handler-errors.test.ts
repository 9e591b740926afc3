import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileAccountStore } from '../../lambdas/adapters/account/local-file-account-store';
import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import { ENV } from '../../lambdas/runtime/env';
import { ensureFunctionBundles } from '../../lib/bundling/function-bundles';
import { taskStates } from '../../lib/state-machine/asl';
import { TRANSIENT_ERRORS } from '../../lib/state-machine/definition';
import { isStartExecutionTask, stepOfResource } from '../../local/execute';
import {
  hostProcess,
  LambdaInvocationError,
  LocalFunction,
  lambdaErrorFormatter,
} from '../../local/lambda-runtime';
import { localDefinitions } from '../../local/local-definition';
import { pickPort } from '../../local/ports';
import { startTestBind, type TestBind } from '../support/bind-fixture';

/**
 * What Step Functions' Retry/Catch see when a deployed function throws: each named error thrown
 * from each bundled handler (the minified esbuild output CDK uploads), invoked as the Node.js
 * runtime invokes it and turned into `{errorType, errorMessage, trace}` by aws-lambda-ric's own
 * formatter. The `Error` a Retry or Catch matches is `errorType`; it must be the class name the
 * definition lists, and the definition must retry it in every step (all are safe to repeat).
 */
describe('named errors from the deployed bundles, as Step Functions sees them', () => {
  const bundles = ensureFunctionBundles();
  const definitions = localDefinitions();
  /** Every Lambda Task of the run and the batch (RunBatch starts an execution: no bundle behind it). */
  const lambdaTasks = () =>
    [...taskStates(definitions.run), ...taskStates(definitions.batch)].filter(
      ([, state]) => !isStartExecutionTask(state.Resource),
    );
  const dir = mkdtempSync(join(tmpdir(), 'certflow-bundle-errors-'));
  const env = hostProcess().env;
  const saved = { ...env };
  let bind: TestBind;
  let closedPort: number;
  let route53: Server;
  /** Every (step, errorType) produced, to check the definition's error names against. */
  const produced: { step: TaskStep; errorType: string }[] = [];

  const timing = {
    propagationIntervalSeconds: 1,
    propagationMaxChecks: 3,
    orderIntervalSeconds: 1,
    orderMaxChecks: 3,
  };
  const writeConfig = (name: string, patch: Record<string, unknown>): string => {
    const file = join(dir, `${name}.json`);
    const dns = `127.0.0.1:${bind.address.port}`;
    writeFileSync(
      file,
      JSON.stringify({
        acme: {
          directory: `http://127.0.0.1:${closedPort}/dir`,
          email: 'ops@example.test',
          termsOfServiceAgreed: true,
        },
        delegation: {
          zone: bind.delegatedZone,
          domains: [bind.primaryZone],
          nameservers: [dns],
          resolver: dns,
        },
        dns: {
          provider: 'rfc2136',
          server: dns,
          tsig: { name: bind.tsig.name, secretEnv: 'CERTFLOW_TEST_TSIG' },
        },
        timing,
        storage: { localDirectory: join(dir, 'certs'), defaultStores: ['local'] },
        certificates: [{ name: 'www', domains: ['www.example.test'] }],
        ...patch,
      }),
    );
    return file;
  };

  const item = () => ({
    certificate: 'www',
    runId: 'run-1',
    accountUrl: `http://127.0.0.1:${closedPort}/acme/acct/1`,
    timing,
    order: {
      url: `http://127.0.0.1:${closedPort}/acme/order/1`,
      accountUrl: `http://127.0.0.1:${closedPort}/acme/acct/1`,
      domains: ['www.example.test'],
      keyType: 'ecdsa-p256',
      records: [
        {
          domain: 'www.example.test',
          challengeName: '_acme-challenge.www.example.test',
          fqdn: `www.example.test.${bind.delegatedZone}`,
          value: 'dGVzdC12YWx1ZS1ub3QtYS1zZWNyZXQ',
          authorizationUrl: `http://127.0.0.1:${closedPort}/acme/authz/1`,
          challengeUrl: `http://127.0.0.1:${closedPort}/acme/chall/1`,
        },
      ],
    },
    publication: { changeTokens: ['/change/C2682N5HXP0BZ4'] },
  });

  /** Invoke one bundle (a cold start) and return the runtime's error response. */
  const failure = async (step: TaskStep, event: unknown, vars: Record<string, string>) => {
    for (const key of Object.keys(env))
      if (key.startsWith('CERTFLOW_') || key.startsWith('AWS_')) delete env[key];
    Object.assign(env, vars);
    const fn = new LocalFunction(bundles[step], 30);
    try {
      await fn.invoke(event as never);
    } catch (error) {
      expect(error).toBeInstanceOf(LambdaInvocationError);
      const { response } = error as LambdaInvocationError;
      produced.push({ step, errorType: response.errorType });
      return response;
    }
    throw new Error(`${step} did not fail`);
  };
  const local = (configFile: string) => ({
    [ENV.mode]: 'local',
    [ENV.configFile]: configFile,
    [ENV.stateDirectory]: join(dir, 'state'),
    [ENV.logFile]: join(dir, 'handlers.log'),
    CERTFLOW_TEST_TSIG: bind.tsig.secret,
  });

  beforeAll(async () => {
    bind = await startTestBind();
    closedPort = await pickPort(undefined, true);
    // Route 53's REST error document for throttling: HTTP 400, Code "Throttling", Message "Rate
    // exceeded" (Route 53 API Reference, "REST Responses" error format; AWS Knowledge Center,
    // "I'm getting API throttling errors in Route 53").
    route53 = createServer((req, res) => {
      if (String(req.headers['x-amz-target'] ?? '').startsWith('DynamoDB_20120810.')) {
        // DynamoDB PutItem without ReturnValues answers an empty object (DynamoDB API Reference,
        // PutItem, "Response Syntax": every element is optional).
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end('{}');
        return;
      }
      res.writeHead(400, {
        'content-type': 'text/xml',
        'x-amz-request-id': '647cd254-e0d1-44a9-af61-1d6d86ea6b77',
      });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>647cd254-e0d1-44a9-af61-1d6d86ea6b77</RequestId></ErrorResponse>',
      );
    });
    await new Promise<void>((resolve) => route53.listen(0, '127.0.0.1', resolve));
    // An ACME account for the steps that load it (AnswerChallenges, CheckOrder, FinalizeAndStore).
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await new LocalFileAccountStore({ directory: join(dir, 'state') }).save({
      directoryUrl: `http://127.0.0.1:${closedPort}/dir`,
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      accountUrl: `http://127.0.0.1:${closedPort}/acme/acct/1`,
    });
  });
  afterAll(async () => {
    for (const key of Object.keys(env)) if (!(key in saved)) delete env[key];
    Object.assign(env, saved);
    await new Promise((resolve) => route53?.close(resolve));
    await bind?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("uses the Node.js runtime interface client's own error formatter", () => {
    expect(lambdaErrorFormatter().source).toMatch(/^aws-lambda-ric 4\.\d+\.\d+ formatError$/);
  });

  it.each(TASK_STEPS)('%s: bad input reports InvalidInputError, not a minified class name', async (step) => {
    const config = writeConfig('valid', {});
    const response = await failure(step, step === 'SelectDue' ? { certificates: 'www' } : {}, local(config));
    expect(response.errorType).toBe('InvalidInputError');
    expect(response.errorMessage).toMatch(/is malformed/);
    expect(Array.isArray(response.trace)).toBe(true);
  });

  it.each(TASK_STEPS)('%s: a missing configuration reports ConfigError naming the file', async (step) => {
    const response = await failure(step, item(), local(join(dir, 'missing.json')));
    expect(response.errorType).toBe('ConfigError');
    expect(response.errorMessage).toContain(join(dir, 'missing.json'));
  });

  it('no DNS server answers: CreateOrder -> DnsQueryError; CheckPropagation waits (not ready, the server named) and at its last check -> PropagationTimeoutError naming the server and its failure', async () => {
    const dead = `127.0.0.1:${closedPort}`;
    const config = writeConfig('dead-dns', {
      delegation: {
        zone: bind.delegatedZone,
        domains: [bind.primaryZone],
        nameservers: [dead],
        resolver: dead,
      },
    });
    for (const key of Object.keys(env))
      if (key.startsWith('CERTFLOW_') || key.startsWith('AWS_')) delete env[key];
    Object.assign(env, local(config));
    const waiting = (await new LocalFunction(bundles.CheckPropagation, 30).invoke(
      item() as never,
    )) as unknown as {
      ready: boolean;
      waitingFor: string[];
    };
    expect(waiting.ready).toBe(false);
    expect(waiting.waitingFor).toEqual([
      expect.stringMatching(
        new RegExp(`^no answer for www\\.example\\.test\\.acme\\.certflow\\.test on ${dead}: .*ECONNREFUSED`),
      ),
    ]);
    const last = await failure(
      'CheckPropagation',
      { ...item(), propagation: { ready: false, checks: timing.propagationMaxChecks - 1 } },
      local(config),
    );
    expect(last.errorType).toBe('PropagationTimeoutError');
    expect(last.errorMessage).toContain(
      `after ${timing.propagationMaxChecks} checks: no answer for www.example.test.acme.certflow.test on ${dead}`,
    );
    const { order: _order, publication: _p, ...fresh } = item();
    expect((await failure('CreateOrder', fresh, local(config))).errorType).toBe('DnsQueryError');
  });

  it('PublishRecords and Cleanup: the RFC 2136 server is down -> DnsUpdateUnavailableError (retried)', async () => {
    const config = writeConfig('dead-update', {
      dns: {
        provider: 'rfc2136',
        server: `127.0.0.1:${closedPort}`,
        tsig: { name: bind.tsig.name, secretEnv: 'CERTFLOW_TEST_TSIG' },
      },
    });
    for (const step of ['PublishRecords', 'Cleanup'] as const) {
      expect((await failure(step, item(), local(config))).errorType).toBe('DnsUpdateUnavailableError');
    }
  });

  it('CreateOrder, AnswerChallenges, CheckOrder and FinalizeAndStore: the CA is down -> AcmeRequestError naming the URL (retried)', async () => {
    const config = writeConfig('ca-down', {});
    const { order: _order, publication: _p, ...fresh } = item();
    const cases: [TaskStep, unknown][] = [
      ['CreateOrder', fresh],
      ['AnswerChallenges', item()],
      ['CheckOrder', item()],
      ['FinalizeAndStore', item()],
    ];
    for (const [step, event] of cases) {
      const response = await failure(step, event, local(config));
      expect({ step, errorType: response.errorType }).toEqual({ step, errorType: 'AcmeRequestError' });
      expect(response.errorMessage).toContain(`http://127.0.0.1:${closedPort}/`);
      expect(response.errorMessage).toContain('ECONNREFUSED');
    }
  });

  it('PublishRecords and Cleanup: BIND refuses the TSIG key -> DnsUpdateError (not retried)', async () => {
    const config = writeConfig('wrong-secret', {});
    const vars = { ...local(config), CERTFLOW_TEST_TSIG: Buffer.alloc(32, 7).toString('base64') };
    for (const step of ['PublishRecords', 'Cleanup'] as const) {
      const response = await failure(step, item(), vars);
      expect(response.errorType).toBe('DnsUpdateError');
      expect(response.errorMessage).toMatch(/BADSIG/);
    }
  });

  it('PublishRecords, Cleanup and CheckPropagation on AWS: Route 53 keeps throttling -> DnsProviderThrottledError', async () => {
    const config = writeConfig('route53', { dns: { provider: 'route53', hostedZoneId: 'Z0123456789ABC' } });
    const aws = {
      [ENV.mode]: 'aws',
      [ENV.configFile]: config,
      [ENV.hostedZoneId]: 'Z0123456789ABC',
      [ENV.pendingTable]: 'certflow-pending',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      AWS_ENDPOINT_URL_ROUTE_53: `http://127.0.0.1:${(route53.address() as AddressInfo).port}`,
      AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${(route53.address() as AddressInfo).port}`,
      AWS_MAX_ATTEMPTS: '1',
    };
    for (const step of ['PublishRecords', 'Cleanup', 'CheckPropagation'] as const) {
      const response = await failure(step, item(), aws);
      expect(response.errorType).toBe('DnsProviderThrottledError');
      expect(response.errorMessage).toMatch(/throttled \(Throttling\)/);
    }
  }, 60_000);

  it('every Task state (FinalizeAndStore included) retries exactly the transient errors its bundle reports, and catches everything', () => {
    const names = new Set(produced.map((p) => p.errorType));
    // every certflow error a Retry names is one a bundle really reports under that name
    const retried = new Set(
      lambdaTasks().flatMap(([, state]) =>
        ((state.Retry as { ErrorEquals: string[] }[] | undefined) ?? []).flatMap((r) => r.ErrorEquals),
      ),
    );
    const certflowNames = [...retried].filter((n) => !/^(States|Lambda|Sandbox)\./.test(n));
    expect(certflowNames.sort()).toEqual(
      ['DnsQueryError', 'DnsUpdateUnavailableError', 'AcmeRequestError'].sort(),
    );
    // Route 53 throttling is retried at one layer, the adapter's: a bundle that reports
    // DnsProviderThrottledError has made its 6 calls, and Step Functions does not make more.
    expect(names).toContain('DnsProviderThrottledError');
    expect(retried.has('DnsProviderThrottledError')).toBe(false);
    for (const name of certflowNames) expect(names).toContain(name);
    for (const [stateName, state] of lambdaTasks()) {
      const step = stepOfResource(state.Resource);
      const retries = ((state.Retry as { ErrorEquals: string[] }[] | undefined) ?? []).flatMap(
        (r) => r.ErrorEquals,
      );
      const catches = ((state.Catch as { ErrorEquals: string[] }[] | undefined) ?? []).flatMap(
        (c) => c.ErrorEquals,
      );
      // SummarizeBatch's failure fails its batch execution, which the run's RunBatch catches.
      expect({ stateName, catchesAll: catches.includes('States.ALL') }).toEqual({
        stateName,
        catchesAll: stateName !== 'SummarizeBatch',
      });
      for (const { errorType } of produced.filter((p) => p.step === step)) {
        // Every step is safe to repeat (FinalizeAndStore included): a transient error is retried.
        const expected = TRANSIENT_ERRORS.includes(errorType);
        expect({ stateName, errorType, retried: retries.includes(errorType) }).toEqual({
          stateName,
          errorType,
          retried: expected,
        });
      }
    }
    // FinalizeAndStore is retried on a rejected or lost ACME request, as every other ACME step.
    const finalize = lambdaTasks().filter(
      ([, state]) => stepOfResource(state.Resource) === 'FinalizeAndStore',
    );
    expect(finalize.length).toBeGreaterThan(0);
    for (const [stateName, state] of finalize) {
      const retries = ((state.Retry as { ErrorEquals: string[] }[] | undefined) ?? []).flatMap(
        (r) => r.ErrorEquals,
      );
      expect({ stateName, retries }).toEqual({
        stateName,
        retries: expect.arrayContaining([
          'AcmeRequestError',
          'Lambda.ServiceException',
          'Lambda.TooManyRequestsException',
        ]),
      });
    }
    // An invocation Lambda ended (out of time or memory) is retried on every Task: "Unhandled
    // errors in Lambda are reported as Lambda.Unknown in the error output. These include
    // out-of-memory errors and function timeouts" (Step Functions developer guide, "Handle Lambda
    // service exceptions"); the runtime's own name for the timeout is Sandbox.Timedout. The
    // Task's own States.Timeout (the invocation may still run) is retried by none.
    for (const [stateName, state] of lambdaTasks()) {
      const retries = ((state.Retry as { ErrorEquals: string[] }[] | undefined) ?? []).flatMap(
        (r) => r.ErrorEquals,
      );
      expect({
        stateName,
        unknown: retries.includes('Lambda.Unknown'),
        timedOut: retries.includes('Sandbox.Timedout'),
        statesTimeout: retries.includes('States.Timeout') || retries.includes('States.ALL'),
      }).toEqual({ stateName, unknown: true, timedOut: true, statesTimeout: false });
    }
  });
});
