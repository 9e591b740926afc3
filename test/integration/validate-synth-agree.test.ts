import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { validateCommand } from '../../cli/validate';
import { loadConfigFile } from '../../lambdas/core/config/load';
import { ConfigError, type ConfigProblem } from '../../lambdas/core/errors';
import { CertflowStack } from '../../lib/certflow-stack';
import { EXAMPLE_CONFIG_FILE, REPO_ROOT } from '../cdk/synth';

/**
 * `certflow validate` (AWS target, its default) and synth give every configuration the same
 * verdict and the same problems: both parse with the one schema, then run the one set of
 * deployment rules over the parsed configuration.
 */
type Raw = Record<string, unknown>;
const example = (): Raw => JSON.parse(readFileSync(EXAMPLE_CONFIG_FILE, 'utf8')) as Raw;
const withSections = (sections: Raw): Raw => ({ ...example(), ...sections });
const acme = (extra: Raw): Raw => ({ ...(example().acme as Raw), ...extra });
const delegation = (extra: Raw): Raw => ({ ...(example().delegation as Raw), ...extra });
const ZONE = { provider: 'route53', hostedZoneId: 'Z0123456789ABC' };
const hundredNames = Array.from({ length: 100 }, (_, i) => `host-${i}.example.com`);
const longNames = (n: number) =>
  Array.from({ length: n }, (_, i) => {
    const name = `service-${String(i).padStart(4, '0')}-`.padEnd(63, 'x');
    return { name, domains: [`s${i}.example.com`], stores: ['acm'] };
  });

/** [what, raw configuration, whether it is valid]. */
const TABLE: [string, Raw, boolean][] = [
  ['the example file', example(), true],
  ['an existing hosted zone', withSections({ dns: ZONE }), true],
  [
    'the compact form with certificateDefaults',
    withSections({
      certificateDefaults: { stores: ['acm'], keyType: 'rsa-2048' },
      certificates: ['api.example.com', '*.tenants.example.com'],
    }),
    true,
  ],
  ['a rate() schedule', withSections({ schedule: { expression: 'rate(12 hours)' } }), true],
  [
    'EAB with a Secrets Manager ARN',
    withSections({
      acme: acme({
        externalAccountBinding: {
          kid: 'k',
          hmacKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:eab',
        },
      }),
    }),
    true,
  ],
  ['a five-field cron', withSections({ schedule: { expression: 'cron(0 3 * * *)' } }), false],
  [
    'a cron with both day fields set',
    withSections({ schedule: { expression: 'cron(0 3 1 * MON *)' } }),
    false,
  ],
  ['at(): runs once', withSections({ schedule: { expression: 'at(2030-01-01T00:00:00)' } }), false],
  ['rate(1 days)', withSections({ schedule: { expression: 'rate(1 days)' } }), false],
  [
    'a schedule sparser than a CloudWatch alarm can wait for',
    withSections({ schedule: { expression: 'rate(7 days)' } }),
    false,
  ],
  ['hostedZoneId with createHostedZone', withSections({ dns: { ...ZONE, createHostedZone: true } }), false],
  ['neither hostedZoneId nor createHostedZone', withSections({ dns: { provider: 'route53' } }), false],
  [
    'the local store on AWS',
    withSections({
      storage: { localDirectory: '/tmp/certflow-certs', defaultStores: ['local'] },
      certificates: [{ name: 'www', domains: ['www.example.com'] }],
    }),
    false,
  ],
  [
    'rfc2136 on AWS',
    withSections({
      dns: { provider: 'rfc2136', server: '192.0.2.53', tsig: { name: 'certflow', secretEnv: 'TSIG' } },
    }),
    false,
  ],
  [
    'a loopback ACME directory on AWS',
    withSections({ acme: acme({ directory: 'http://127.0.0.1:14000/dir' }) }),
    false,
  ],
  ['a CA bundle file on AWS', withSections({ acme: acme({ caBundleFile: '/tmp/ca.pem' }) }), false],
  ['a trust-anchor file on AWS', withSections({ acme: acme({ trustAnchorsFile: '/tmp/roots.pem' }) }), false],
  [
    'EAB from an environment variable on AWS',
    withSections({ acme: acme({ externalAccountBinding: { kid: 'k', hmacKeyEnv: 'EAB' } }) }),
    false,
  ],
  [
    'EAB with a secret name, not an ARN',
    withSections({ acme: acme({ externalAccountBinding: { kid: 'k', hmacKeySecretArn: 'my-eab' } }) }),
    false,
  ],
  ['a loopback resolver', withSections({ delegation: delegation({ resolver: '127.0.0.1:53' }) }), false],
  ['loopback nameservers', withSections({ delegation: delegation({ nameservers: ['[::1]:53'] }) }), false],
  [
    'a key type ACM cannot import (refused by the schema)',
    withSections({
      certificates: [{ name: 'a', domains: ['a.example.com'], keyType: 'rsa-8192', stores: ['acm'] }],
    }),
    false,
  ],
  [
    'too many per-certificate alarms',
    withSections({ monitoring: { daysToExpiry: { perCertificateAlarms: 101 } } }),
    false,
  ],
  [
    "Route 53 writes that could not fit PublishRecords' timeout",
    withSections({
      dns: ZONE,
      renewal: { maxConcurrency: 4, batchConcurrency: 2 },
      certificates: [{ name: 'big', domains: hundredNames }],
    }),
    false,
  ],
  ['a run state past 256 KiB', withSections({ dns: ZONE, certificates: longNames(1000) }), false],
  [
    'a schema problem and an AWS-only problem together (the schema speaks first)',
    withSections({
      acme: acme({ email: 'not-an-email' }),
      schedule: { expression: 'cron(0 3 * * *)' },
    }),
    false,
  ],
  [
    'two AWS-only problems at once',
    withSections({
      dns: { ...ZONE, createHostedZone: true },
      delegation: delegation({ resolver: 'localhost' }),
      schedule: { expression: 'cron(0 3 * * *)' },
    }),
    false,
  ],
  [
    'a domain outside delegation.domains',
    withSections({ certificates: [{ name: 'x', domains: ['www.example.org'] }] }),
    false,
  ],
];

interface Verdict {
  ok: boolean;
  problems: ConfigProblem[];
}

/** What `cdk synth` does with the file (bin/app.ts): load it, then build the stack. */
function synthVerdict(file: string): Verdict {
  try {
    const config = loadConfigFile(file);
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new CertflowStack(app, 'Certflow', { config, env: { account: '123456789012', region: 'eu-west-1' } });
    return { ok: true, problems: [] };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, problems: error.problems };
    throw error;
  }
}

async function validateVerdict(file: string): Promise<Verdict & { code: number }> {
  const out: string[] = [];
  const code = await validateCommand(
    { config: file, json: true },
    { out: (l) => out.push(l), err: () => {} },
  );
  const doc = JSON.parse(out.join('\n')) as { ok: boolean; error?: { problems?: ConfigProblem[] } };
  return { code, ok: doc.ok, problems: doc.error?.problems ?? [] };
}

describe('certflow validate and synth agree on every configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certflow-agree-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (i: number, raw: Raw) => {
    const file = join(dir, `config-${i}.json`);
    writeFileSync(file, JSON.stringify(raw));
    return file;
  };

  it('holds at least 20 configurations, valid and invalid', () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(20);
    expect(TABLE.filter(([, , valid]) => valid).length).toBeGreaterThanOrEqual(3);
    expect(TABLE.filter(([, , valid]) => !valid).length).toBeGreaterThanOrEqual(15);
  });

  it.each(TABLE.map(([what, raw, valid], i) => [what, i, raw, valid] as const))(
    '%s: the same verdict and the same problems',
    async (_what, i, raw, valid) => {
      const file = write(i, raw);
      const synth = synthVerdict(file);
      const validate = await validateVerdict(file);
      expect(synth.ok).toBe(valid);
      expect(validate.ok).toBe(valid);
      expect(validate.code).toBe(valid ? 0 : 2);
      expect(validate.problems).toEqual(synth.problems);
      if (!valid) expect(synth.problems.length).toBeGreaterThan(0);
    },
  );

  it('the CDK app (bin/app.ts) and the CLI (bin/certflow.ts), as processes, print the same problems for the two the issue named', () => {
    for (const [i, sections] of [
      [100, { schedule: { expression: 'cron(0 3 * * *)' } }],
      [101, { dns: { ...ZONE, createHostedZone: true } }],
    ] as const) {
      const file = write(i, withSections(sections));
      const env = {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ config: file, 'aws:cdk:bundling-stacks': [] }),
        CDK_OUTDIR: join(dir, `out-${i}`),
      };
      const synth = spawnSync('npx', ['tsx', 'bin/app.ts'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
      const validate = spawnSync('npx', ['tsx', 'bin/certflow.ts', 'validate', '-c', file], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
      expect(synth.status).toBe(1);
      expect(validate.status).toBe(2);
      expect(validate.stderr).toContain(`${file} is invalid (1 problem):`);
      expect(synth.stderr).toBe(validate.stderr);
    }
  });
});
