import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV } from '../../lambdas/runtime/env';
import { ensureFunctionBundles } from '../../lib/bundling/function-bundles';
import { taskStates } from '../../lib/state-machine/asl';
import { stepOfResource } from '../../local/execute';
import { hostProcess, LambdaInvocationError, LocalFunction } from '../../local/lambda-runtime';
import { localDefinitions } from '../../local/local-definition';

/**
 * A deployed function that runs past its timeout fails as Lambda fails it: `Sandbox.Timedout`,
 * "Task timed out after N seconds", which the definition retries on that step. Here the
 * CheckPropagation bundle asks a name server that takes every query and never answers, with a
 * function timeout (1 s) shorter than the DNS client's own.
 */
describe('a function past its timeout, as Step Functions sees it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certflow-timeout-'));
  const env = hostProcess().env;
  const saved = { ...env };
  let silent: Socket;
  let fn: LocalFunction | undefined;

  beforeAll(async () => {
    silent = createSocket('udp4');
    silent.on('message', () => undefined); // takes every query, answers none
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await fn?.drain();
    for (const key of Object.keys(env)) if (!(key in saved)) delete env[key];
    Object.assign(env, saved);
    silent?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('CheckPropagation: Sandbox.Timedout after the function timeout, retried by its Task, and the next call loads the function afresh', async () => {
    const server = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        acme: { directory: 'http://127.0.0.1:9/dir', email: 'ops@example.test', termsOfServiceAgreed: true },
        delegation: {
          zone: 'acme.certflow.test',
          domains: ['example.test'],
          nameservers: [server],
          resolver: server,
        },
        dns: { provider: 'rfc2136', server, tsig: { name: 'k', secretEnv: 'CERTFLOW_TEST_TSIG' } },
        storage: { localDirectory: join(dir, 'certs'), defaultStores: ['local'] },
        certificates: [{ name: 'www', domains: ['www.example.test'] }],
      }),
    );
    for (const key of Object.keys(env))
      if (key.startsWith('CERTFLOW_') || key.startsWith('AWS_')) delete env[key];
    Object.assign(env, {
      [ENV.mode]: 'local',
      [ENV.configFile]: config,
      [ENV.stateDirectory]: join(dir, 'state'),
      [ENV.logFile]: join(dir, 'handlers.log'),
      CERTFLOW_TEST_TSIG: Buffer.alloc(32, 1).toString('base64'),
    });
    const item = {
      certificate: 'www',
      runId: 'run-1',
      accountUrl: 'http://127.0.0.1:9/acme/acct/1',
      timing: {
        propagationIntervalSeconds: 1,
        propagationMaxChecks: 3,
        orderIntervalSeconds: 1,
        orderMaxChecks: 3,
      },
      order: {
        url: 'http://127.0.0.1:9/acme/order/1',
        accountUrl: 'http://127.0.0.1:9/acme/acct/1',
        domains: ['www.example.test'],
        keyType: 'ecdsa-p256',
        records: [
          {
            domain: 'www.example.test',
            challengeName: '_acme-challenge.www.example.test',
            fqdn: 'www.example.test.acme.certflow.test',
            value: 'dGVzdC12YWx1ZS1ub3QtYS1zZWNyZXQ',
            authorizationUrl: 'http://127.0.0.1:9/acme/authz/1',
            challengeUrl: 'http://127.0.0.1:9/acme/chall/1',
          },
        ],
      },
      publication: {},
    };

    fn = new LocalFunction(ensureFunctionBundles().CheckPropagation, 1);
    const responses = [];
    for (let i = 0; i < 2; i++) {
      const error = await (fn as LocalFunction).invoke(item).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LambdaInvocationError);
      responses.push((error as LambdaInvocationError).response);
    }
    expect(responses).toEqual([
      {
        errorType: 'Sandbox.Timedout',
        errorMessage: 'RequestId: local-CheckPropagation-1 Error: Task timed out after 1.00 seconds',
        trace: [],
      },
      {
        errorType: 'Sandbox.Timedout',
        errorMessage: 'RequestId: local-CheckPropagation-2 Error: Task timed out after 1.00 seconds',
        trace: [],
      },
    ]);

    // The Task that runs this function retries exactly that error name.
    const [, state] =
      taskStates(localDefinitions().batch).find(([, s]) => {
        try {
          return stepOfResource(s.Resource) === 'CheckPropagation';
        } catch {
          return false;
        }
      }) ?? [];
    const retried = ((state?.Retry as { ErrorEquals: string[] }[] | undefined) ?? []).flatMap(
      (r) => r.ErrorEquals,
    );
    expect(retried).toContain('Sandbox.Timedout');
  }, 30_000);
});
