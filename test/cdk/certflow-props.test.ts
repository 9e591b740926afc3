import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { deploymentProblems, scheduleExpressionProblem } from '../../lambdas/core/config/deployment';
import { parseConfig } from '../../lambdas/core/config/load';
import type { KeyType } from '../../lambdas/core/config/schema';
import { ConfigError } from '../../lambdas/core/errors';
import {
  certificateEventBudget,
  certificateFitsABatch,
  certificatesPerBatch,
  maxCertificatesPerRun,
} from '../../lambdas/core/execution-limits';
import { Certflow, chunkJoin, delegationRecords } from '../../lib/certflow';
import { DEFAULT_LOG_RETENTION, validateCertflowProps } from '../../lib/certflow-props';
import { CertflowStack } from '../../lib/certflow-stack';
import { EXAMPLE_CONFIG_FILE, exampleConfig, patchedConfig } from './synth';

function problemsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** A schema-valid configuration that local mode accepts but AWS cannot run. */
const localOnlyConfig = () =>
  patchedConfig((raw) => {
    raw.acme = {
      directory: 'http://127.0.0.1:14000/dir',
      email: 'hostmaster@example.com',
      termsOfServiceAgreed: true,
      caBundleFile: '/tmp/pebble-ca.pem',
      externalAccountBinding: { kid: 'kid-1', hmacKeyEnv: 'EAB_HMAC' },
    };
    raw.dns = {
      provider: 'rfc2136',
      server: '127.0.0.1:5353',
      tsig: { name: 'certflow', secretEnv: 'TSIG' },
    };
    raw.delegation = { zone: 'acme.example.net', domains: ['example.com'], resolver: '127.0.0.1:5353' };
    raw.storage = { localDirectory: '/tmp/certs', defaultStores: ['local'] };
    raw.schedule = { expression: 'cron(0 3 * * *)' };
    raw.certificates = [{ name: 'example', domains: ['example.com'] }];
  });

describe('validateCertflowProps', () => {
  it('accepts the example config and applies defaults', () => {
    const resolved = validateCertflowProps({ config: exampleConfig() });
    expect(resolved.logRetention).toBe(DEFAULT_LOG_RETENTION);
    expect(resolved.logRetention).toBe(logs.RetentionDays.THREE_MONTHS);
    expect(resolved.secretNamePrefix).toBe('certflow');
    // In a stack, the stack's name.
    expect(
      validateCertflowProps({ config: exampleConfig() }, { stackName: 'CertflowProd' }).secretNamePrefix,
    ).toBe('CertflowProd');
  });

  it.each(['a/certificate', 'certificate', 'x/acme-account/y', 'pending-key'])(
    'refuses the prefix "%s": a part named like a kind of secret would fall under another prefix\'s grant',
    (prefix) => {
      expect(
        problemsOf(() => validateCertflowProps({ config: exampleConfig(), secretNamePrefix: prefix })),
      ).toEqual([
        { path: 'secretNamePrefix', message: expect.stringContaining('no part of the prefix may be') },
      ]);
    },
  );

  it('lists every problem at once, each with its path', () => {
    const problems = problemsOf(() =>
      validateCertflowProps({
        config: localOnlyConfig(),
        logRetention: logs.RetentionDays.INFINITE,
        secretNamePrefix: 'bad prefix',
      }),
    );
    expect(problems.map((p) => p.path).sort()).toEqual(
      [
        'acme.caBundleFile',
        'acme.directory',
        'acme.externalAccountBinding.hmacKeySecretArn',
        'delegation.resolver',
        'dns.provider',
        'logRetention',
        'schedule.expression',
        'secretNamePrefix',
        // The validated config has each certificate's stores resolved from storage.defaultStores.
        'certificates[0].stores',
      ].sort(),
    );
    const text = problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    expect(text).toMatch(/dns\.provider: .*route53/);
    expect(text).toMatch(/schedule\.expression: .*has 5 fields/);
    expect(text).toMatch(/certificates\[0\]\.stores: .*local store is not available in Lambda/);
  });

  it('the construct refuses the same props before creating anything', () => {
    const stack = new Stack(new App(), 'Refused');
    const problems = problemsOf(() => new Certflow(stack, 'Certflow', { config: localOnlyConfig() }));
    expect(problems.length).toBeGreaterThanOrEqual(7);
    expect(stack.node.findAll().filter((c) => c.node.path.includes('Certflow/'))).toEqual([]);
  });

  it('refuses a retention that is not a CloudWatch Logs value', () => {
    const problems = problemsOf(() =>
      validateCertflowProps({ config: exampleConfig(), logRetention: 42 as logs.RetentionDays }),
    );
    expect(problems).toEqual([{ path: 'logRetention', message: expect.stringContaining('42') }]);
  });
});

/** The example file with its sections replaced by `sections`, parsed: what the construct receives. */
const parsedWith = (sections: Record<string, unknown>) =>
  patchedConfig((raw) => {
    Object.assign(raw, sections);
  });
const ZONE_ID = { provider: 'route53', hostedZoneId: 'Z1' };

describe('deploymentProblems (the parsed configuration: what the construct and `certflow validate` both check)', () => {
  it('flags key types ACM cannot import for acm-stored certificates', () => {
    // Every key type the schema takes today is importable; a type ACM cannot import (one certflow
    // may add) is refused for acm-stored certificates only.
    const config = parsedWith({
      dns: ZONE_ID,
      certificates: [
        { name: 'a', domains: ['a.example.com'], stores: ['acm'] },
        { name: 'b', domains: ['b.example.com'], stores: ['secretsmanager'] },
      ],
    });
    config.certificates = config.certificates.map((c) => ({ ...c, keyType: 'rsa-8192' as KeyType }));
    const problems = deploymentProblems(config);
    expect(problems).toEqual([
      { path: 'certificates[0].keyType', message: expect.stringMatching(/^ACM cannot import rsa-8192/) },
    ]);
  });

  it('needs a hosted zone id or createHostedZone, not both and not neither', () => {
    // Neither: refused by the schema, for every target.
    expect(problemsOf(() => parsedWith({ dns: { provider: 'route53' } }))).toEqual([
      { path: 'dns.hostedZoneId', message: expect.any(String) },
    ]);
    expect(
      deploymentProblems(
        parsedWith({ dns: { provider: 'route53', hostedZoneId: 'Z1', createHostedZone: true } }),
      ),
    ).toEqual([{ path: 'dns.createHostedZone', message: expect.any(String) }]);
  });

  it('needs the EAB key in Secrets Manager, as a secret ARN', () => {
    const eab = (e: Record<string, string>) =>
      deploymentProblems(
        patchedConfig((raw) => {
          raw.dns = ZONE_ID;
          (raw.acme as Record<string, unknown>).externalAccountBinding = e;
        }),
      );
    expect(
      eab({ kid: 'k', hmacKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:eab' }),
    ).toEqual([]);
    expect(eab({ kid: 'k', hmacKeySecretArn: 'my-eab-secret' })).toEqual([
      {
        path: 'acme.externalAccountBinding.hmacKeySecretArn',
        message: expect.stringContaining('not a Secrets'),
      },
    ]);
  });

  it('takes a thousand certificates; refuses a set whose run state could pass 256 KiB, naming the bytes and the fix', () => {
    const certificates = (n: number, name: (i: number) => string) =>
      Array.from({ length: n }, (_, i) => ({
        name: name(i),
        domains: [`${name(i)}.example.com`],
        stores: ['acm'],
      }));
    const problemsFor = (certs: unknown[]) =>
      deploymentProblems(parsedWith({ dns: ZONE_ID, certificates: certs }));
    const service = (i: number) => `service-${String(i).padStart(4, '0')}`;
    // default timing: 60 + 60 checks, 1123 events per certificate, 20 per batch, 50 batches
    expect(problemsFor(certificates(1000, service))).toEqual([]);
    // names of 40 characters still fit; the longest names the schema allows (63) do not, at 1,000
    const long = (len: number) => (i: number) => `${service(i)}-`.padEnd(len, 'x');
    expect(problemsFor(certificates(1000, long(40)))).toEqual([]);
    const problems = problemsFor(certificates(1000, long(63)));
    expect(problems).toEqual([
      {
        path: 'certificates',
        message: expect.stringMatching(
          /^with all 1000 certificates due, a run could carry \d+ bytes in one state, over the 235929 planned inside Step Functions' 256 KiB payload quota; use shorter certificate names, or deploy several stacks$/,
        ),
      },
    ]);
    expect(problemsFor(certificates(800, long(63)))).toEqual([]);
  });

  it("refuses a concurrency at which the largest certificate's Route 53 writes, paced, could not fit PublishRecords' timeout", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => `host-${i}.example.com`);
    const config = (renewal: Record<string, number>) =>
      parsedWith({
        dns: ZONE_ID,
        renewal,
        certificates: [{ name: 'big', domains: hundred }],
      });
    // 4 x 1 in flight at 3 requests/s: a call every 1334 ms, 105 calls in 140 s (of 150 s planned)
    expect(deploymentProblems(config({ maxConcurrency: 4 }))).toEqual([]);
    expect(deploymentProblems(config({ maxConcurrency: 4, batchConcurrency: 2 }))).toEqual([
      {
        path: 'renewal.maxConcurrency',
        message:
          "with 8 certificates in flight sharing 3 Route 53 requests per second, each function may call Route 53 once every 2667 ms, so writing the largest certificate's 100 names takes 280 s, more than the 150 s planned inside PublishRecords' timeout; lower renewal.maxConcurrency or renewal.batchConcurrency, raise dns.requestsPerSecond (at most 5, the account's whole quota), or split the certificate",
      },
    ]);
  });

  it('puts nothing per certificate in the 4 KB Lambda environment (configuration in a layer, secrets by prefix)', () => {
    const certificates = Array.from({ length: 40 }, (_, i) => ({
      name: `certificate-${i}`,
      domains: Array.from({ length: 5 }, (_, j) => `host-${j}.service-${i}.example.com`),
    }));
    const problems = deploymentProblems(
      parsedWith({
        dns: ZONE_ID,
        timing: { propagationMaxChecks: 5, orderMaxChecks: 5 },
        certificates,
      }),
    );
    expect(problems).toEqual([]);
  });
});

describe('the per-certificate history-event budget, refused at synth when a configuration cannot fit', () => {
  const CAPPED = { propagationMaxChecks: 200, orderMaxChecks: 200 };
  const singleNames = (n: number) => Array.from({ length: n }, (_, i) => `c${i}.example.com`);

  it("cannot be exceeded by a schema-valid configuration: at the schema's caps (200 + 200 checks) one certificate fits a batch, and 201 checks are refused by the schema", () => {
    // 29 + 7 x 400 + 2 x 398 + 18 = 3643 events, far below the 22,500 a batch execution plans for.
    expect(certificateEventBudget(CAPPED)).toBe(3643);
    expect(certificateFitsABatch(CAPPED)).toBe(true);
    // The example file, as written, with the timing changed.
    const raw = (timing: Record<string, number>) => {
      const file = JSON.parse(readFileSync(EXAMPLE_CONFIG_FILE, 'utf8')) as Record<string, unknown>;
      return { ...file, timing: { ...(file.timing as object), ...timing } };
    };
    expect(parseConfig(raw(CAPPED), 'config').timing).toMatchObject(CAPPED);
    expect(
      problemsOf(() => parseConfig(raw({ propagationMaxChecks: 201 }), 'config')).map((p) => p.path),
    ).toEqual(['timing.propagationMaxChecks']);
    expect(problemsOf(() => parseConfig(raw({ orderMaxChecks: 201 }), 'config')).map((p) => p.path)).toEqual([
      'timing.orderMaxChecks',
    ]);
    expect(
      deploymentProblems(parsedWith({ dns: ZONE_ID, timing: CAPPED, certificates: ['a.example.com'] })),
    ).toEqual([]);
  });

  it('a timing past the caps (refused by the schema first) gets the budget refusal from the deployment rules, naming timing and the fix', () => {
    // The schema caps each at 200; the rule still guards the construct against a configuration
    // object built without the schema.
    const config = parsedWith({ dns: ZONE_ID, certificates: ['a.example.com'] });
    config.timing = { ...config.timing, propagationMaxChecks: 1300, orderMaxChecks: 1300 };
    const problems = deploymentProblems(config);
    expect(problems).toContainEqual({
      path: 'timing',
      message:
        'one certificate may use up to 23443 history events at this timing, more than one Step Functions execution may plan for (25000 less headroom); lower timing.propagationMaxChecks / timing.orderMaxChecks',
    });
  });

  it('the reachable refusal: more certificates than one run holds at the capped timing are refused by the construct before it creates anything, naming certificates and the fix', () => {
    // At 200 + 200 checks: 6 certificates per batch execution, 624 batches per run (each
    // counted as failing as a whole: RunBatch caught, BatchFailed with all its retries, its fallback).
    expect(certificatesPerBatch(CAPPED)).toBe(6);
    const capacity = maxCertificatesPerRun(CAPPED);
    expect(capacity).toBe(3_744);
    const config = (n: number) =>
      patchedConfig((raw) => {
        raw.timing = { ...(raw.timing as object), ...CAPPED };
        raw.certificates = singleNames(n);
      });
    const fits = (n: number) =>
      problemsOf(() => validateCertflowProps({ config: config(n) })).filter((p) =>
        p.message.includes('do not fit one run'),
      );
    expect(fits(capacity)).toEqual([]);
    expect(fits(capacity + 1)).toEqual([
      {
        path: 'certificates',
        message:
          '3745 certificates do not fit one run at this timing: 6 per batch execution, at most 3744 per run; lower timing.propagationMaxChecks / timing.orderMaxChecks, or deploy several stacks',
      },
    ]);
    const stack = new Stack(new App(), 'TooMany');
    const problems = problemsOf(() => new Certflow(stack, 'Certflow', { config: config(capacity + 1) }));
    expect(problems.map((p) => p.path)).toContain('certificates');
    expect(stack.node.findAll().filter((c) => c.node.path.includes('Certflow/'))).toEqual([]);
  });
});

describe('scheduleExpressionProblem', () => {
  it.each([
    'cron(17 3,15 * * ? *)',
    'cron(0 4 ? * MON-FRI *)',
    'rate(12 hours)',
    'rate(1 day)',
    'rate(30 minutes)',
  ])('accepts %s', (expression) => {
    expect(scheduleExpressionProblem(expression)).toBeUndefined();
  });
  it.each([
    ['cron(0 3 * * *)', /has 5 fields/],
    ['cron(0 3 * * MON *)', /exactly one of day-of-month and day-of-week/],
    ['rate(1 days)', /rate\(1 day\)/],
    ['rate(2 hour)', /rate\(2 hours\)/],
    ['rate(0 hours)', /at least 1/],
    ['at(2030-01-01T00:00:00)', /runs once/],
    ['every day', /not an EventBridge Scheduler expression/],
  ])('refuses %s', (expression, message) => {
    expect(scheduleExpressionProblem(expression)).toMatch(message);
  });
});

describe('delegation CNAMEs', () => {
  it('one record per distinct _acme-challenge name (apex and wildcard share one)', () => {
    expect(delegationRecords(exampleConfig())).toEqual([
      '_acme-challenge.example.com. CNAME example.com.acme.example.net.',
      '_acme-challenge.www.example.com. CNAME www.example.com.acme.example.net.',
    ]);
  });

  it('outputs are split to fit CloudFormation output values', () => {
    expect(chunkJoin(['aaaa', 'bbbb', 'cccc'], ' ; ', 11)).toEqual(['aaaa ; bbbb', 'cccc']);
    expect(chunkJoin([], ' ; ')).toEqual([]);
  });
});

describe('grantReadCertificate', () => {
  it("lets a server's role read one certificate secret (and decrypt it through Secrets Manager)", () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new CertflowStack(app, 'Grant', { config: exampleConfig() });
    const web = new iam.Role(stack, 'WebServer', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    });
    stack.certflow.grantReadCertificate('www', web);
    expect(problemsOf(() => stack.certflow.grantReadCertificate('nope', web))).toEqual([
      { path: 'certificates', message: expect.stringContaining('"nope"') },
    ]);
    const template = Template.fromStack(stack);
    const webRole = { Ref: stack.getLogicalId(web.node.defaultChild as iam.CfnRole) };
    // The secret is created at run time: the grant names it, with Secrets Manager's random suffix.
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [webRole],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: {
              'Fn::Join': [
                '',
                Match.arrayWith([
                  // The deployment's prefix: the stack name by default.
                  Match.stringLikeRegexp(':secret:Grant/certificate/www-\\?\\?\\?\\?\\?\\?$'),
                ]),
              ],
            },
          }),
          Match.objectLike({
            Action: 'kms:Decrypt',
            Condition: { StringEquals: { 'kms:ViaService': Match.anyValue() } },
          }),
          // A secret an earlier deployment with this prefix created is still encrypted with the
          // key it retained: keys tagged for the deployment, through Secrets Manager only.
          Match.objectLike({
            Action: 'kms:Decrypt',
            Condition: {
              StringEquals: {
                'kms:ViaService': Match.anyValue(),
                'aws:ResourceTag/certflow:deployment': 'Grant',
              },
            },
            Resource: { 'Fn::Join': ['', Match.arrayWith([':kms:', ':key/*'])] },
          }),
        ]),
      },
    });
  });
});

describe('one deployment, one prefix', () => {
  it('refuses a second Certflow construct with the same prefix in one stack (they would share secrets, key tag and grants), naming the prop to set', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Shared');
    new Certflow(stack, 'First', { config: exampleConfig() });
    expect(problemsOf(() => new Certflow(stack, 'Second', { config: exampleConfig() }))).toEqual([
      { path: 'secretNamePrefix', message: expect.stringContaining('"Shared" is already the prefix') },
    ]);
    const second = new Certflow(stack, 'Third', { config: exampleConfig(), secretNamePrefix: 'Shared2' });
    expect(second.secretNamePrefix).toBe('Shared2');
  });
});
