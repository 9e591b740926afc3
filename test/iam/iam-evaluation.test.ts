/**
 * IAM, evaluated: every AWS call the pipeline makes, recorded while it issues, renews and fails
 * for real (real Pebble, real BIND, the real core steps and AWS adapters wired by
 * each handler's wiring with each function's synthesized environment; AWS answered at
 * the SDK boundary from AWS's documented responses), turned into IAM request contexts and
 * evaluated with @cloud-copilot/iam-simulate against the synthesized role policies (and the KMS
 * key and SNS topic policies), CloudFormation intrinsics resolved to concrete ARNs.
 *
 * How to extend (the data model will change: secrets created at runtime under a name prefix,
 * per-directory ACME account secrets, pending private keys, a DynamoDB table of pending TXT
 * records):
 * - A new AWS service or operation: answer it in harness/fake-aws.ts (from a fixture in
 *   test/fixtures/aws/, with its source), and map it to its IAM action, resource ARN and
 *   condition keys in harness/requests.ts (`iamRequestsOf`); implied calls (KMS on the caller's
 *   behalf) go there too. An unmapped call fails the test with the file to edit.
 * - Resources created at runtime (e.g. `<prefix>/certificate/<name>` secrets): the fake creates
 *   them on CreateSecret (mapped to its IAM request and implied KMS call in requests.ts);
 *   `secretLabel`/`forbiddenRequests` classify secrets by name, so grants by prefix are
 *   evaluated against the real ARNs the run produced.
 * - A new posture rule ("X must never do Y"): add it to harness/forbidden.ts; derive the
 *   functions from the recorded table where it depends on use ("read by a function that does
 *   not use it"), so it follows the code.
 * - New resource types in the template: teach test/support/cfn-resolve.ts their `Ref`/`Fn::GetAtt`, and
 *   harness/deployment.ts their resource policy if IAM evaluates one (e.g. a DynamoDB table has
 *   none; a KMS key does).
 * The table "function -> calls it makes" is printed by this test (and asserted: every call
 * allowed, every forbidden call denied); the mutation tests below prove it can fail.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rfc2136Provider } from '../../lambdas/adapters/dns/rfc2136/rfc2136-provider';
import { parseConfig } from '../../lambdas/core/config/load';
import { TASK_STEPS, type TaskStep } from '../../lambdas/core/state';
import { ENV } from '../../lambdas/runtime/env';
import { configForFunctions } from '../../lib/certflow';
import { ACCOUNT, REGION, synth } from '../cdk/synth';
import { startTestBind, type TestBind } from '../support/bind-fixture';
import type { Template } from '../support/cfn-resolve';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';
import { type DeployedAccount, deployedAccount, type PolicyDocument } from './harness/deployment';
import {
  type Evaluated,
  evaluateAll,
  forbiddenTable as forbiddenTableText,
  verdictTable,
} from './harness/evaluate';
import { FakeAws } from './harness/fake-aws';
import { type ForbiddenRequest, forbiddenRequests } from './harness/forbidden';
import { PipelineDriver } from './harness/pipeline';
import { type IamRequest, iamRequestsOf } from './harness/requests';

jest.setTimeout(300_000);

describe('IAM evaluated against every call the pipeline makes', () => {
  let bind: TestBind;
  let pebble: TestPebble;
  let fake: FakeAws;
  let account: DeployedAccount;
  let hostedZoneId: string;
  let recorded: IamRequest[];
  let allowedTable: Evaluated[];
  let forbidden: ForbiddenRequest[];
  let forbiddenTable: Evaluated[];
  const caFile = join(tmpdir(), `certflow-iam-ca-${process.pid}.pem`);
  const configFile = join(tmpdir(), `certflow-iam-config-${process.pid}.json`);
  /** The configuration the functions read (the layer's file), pointing at the local CA and BIND. */
  const writeConfigFile = (json: string): string => {
    writeFileSync(configFile, json);
    return configFile;
  };

  beforeAll(async () => {
    bind = await startTestBind();
    pebble = await startTestPebble({
      dnsServer: `127.0.0.1:${bind.address.port}`,
      env: { PEBBLE_AUTHZREUSE: '0' },
    });
    const dns = `127.0.0.1:${bind.address.port}`;
    const certificates = [
      {
        name: 'apex',
        domains: [bind.primaryZone, `*.${bind.primaryZone}`],
        stores: ['secretsmanager', 'acm'],
        acmRegions: ['us-east-1'],
      },
      { name: 'www', domains: [`www.${bind.primaryZone}`], stores: ['secretsmanager'] },
      // No _acme-challenge CNAME for this name: CreateOrder fails with DelegationError.
      { name: 'broken', domains: [`api.${bind.primaryZone}`], stores: ['secretsmanager'] },
    ];
    const common = {
      dns: { provider: 'route53', createHostedZone: true },
      timing: {
        propagationIntervalSeconds: 1,
        propagationMaxChecks: 30,
        orderIntervalSeconds: 1,
        orderMaxChecks: 30,
      },
      certificates,
    };
    // What is deployed (the construct refuses loopback CAs and name servers, rightly)...
    const deployed = parseConfig(
      {
        ...common,
        acme: { directory: 'letsencrypt-staging', email: 'ops@example.test', termsOfServiceAgreed: true },
        delegation: { zone: bind.delegatedZone, domains: [bind.primaryZone] },
      },
      'deployed configuration',
    );
    // ...and what the functions read here: the same, but with the local CA and name server.
    const config = parseConfig(
      {
        ...common,
        acme: {
          directory: pebble.directoryUrl,
          email: 'ops@example.test',
          termsOfServiceAgreed: true,
          caBundleFile: pebble.caBundleFile,
        },
        delegation: {
          zone: bind.delegatedZone,
          domains: [bind.primaryZone],
          nameservers: [dns],
          resolver: dns,
        },
      },
      'local configuration',
    );
    expect({ ...config, acme: undefined, delegation: undefined }).toEqual({
      ...deployed,
      acme: undefined,
      delegation: undefined,
    });
    const { json } = synth(deployed);
    account = deployedAccount(json as unknown as Template, {
      partition: 'aws',
      region: REGION,
      account: ACCOUNT,
      stackName: 'CertflowTest',
    });
    hostedZoneId = [...account.hostedZones.keys()][0] as string;
    fake = new FakeAws({
      account: ACCOUNT,
      hostedZones: account.hostedZones,
      secrets: account.secrets,
      secretKeys: account.secretKeys,
      region: REGION,
      mirror: new Rfc2136Provider({ server: bind.address, zone: bind.delegatedZone, tsig: bind.tsig }),
    });
    fake.install();
    const driver = new PipelineDriver(
      account,
      fake,
      { AWS_REGION: REGION },
      { [ENV.configFile]: writeConfigFile(configForFunctions(config)) },
    );

    // Issue two certificates (one also into ACM in two regions).
    const issue = await driver.run({ certificates: ['apex', 'www'] });
    expect(issue.results.map((r) => r.status)).toEqual(['issued', 'issued']);
    // Scheduled renewal: nothing valid is due; the never-issued "broken" fails at CreateOrder.
    const scheduled = await driver.run({});
    expect(scheduled.selection.skipped.map((s) => s.certificate).sort()).toEqual(['apex', 'www']);
    expect(scheduled.results).toEqual([
      expect.objectContaining({ certificate: 'broken', status: 'failed', step: 'CreateOrder' }),
    ]);
    // Forced renewal: re-import into the same ACM ARNs, new secret versions.
    const renewal = await driver.run({ certificates: ['apex'], force: true });
    expect(renewal.results.map((r) => r.status)).toEqual(['issued']);
    // A failure after the records were published: Cleanup removes them, RecordFailure alerts.
    const failed = await driver.run({ certificates: ['www'], force: true }, { www: 'PublishRecords' });
    expect(failed.results).toEqual([expect.objectContaining({ status: 'failed', step: 'PublishRecords' })]);

    recorded = fake.calls.flatMap((c) => iamRequestsOf(c, account));
    allowedTable = await evaluateAll(recorded, account);
    forbidden = forbiddenRequests({ account, zone: bind.delegatedZone, hostedZoneId, recorded });
    forbiddenTable = await evaluateAll(forbidden, account);
    const report = [
      verdictTable('Calls the pipeline made (issue, renew, fail), by function:', allowedTable),
      '',
      forbiddenTableText(
        'Calls it must never be able to make, by rule (the functions each was evaluated for):',
        forbiddenTable.map((r, i) => ({ ...r, rule: (forbidden[i] as ForbiddenRequest).rule })),
        TASK_STEPS,
      ),
    ].join('\n');
    writeFileSync(join(tmpdir(), 'certflow-iam-table.txt'), `${report}\n`);
    process.stdout.write(`\n${report}\n`);
  });

  afterAll(async () => {
    fake?.restore();
    await pebble?.stop();
    await bind?.stop();
    rmSync(caFile, { force: true });
  });

  it('records calls from every function, and the pipeline really issued, renewed and re-imported', () => {
    const steps = new Set(recorded.map((r) => r.step));
    expect([...TASK_STEPS].filter((s) => !steps.has(s))).toEqual([]);
    // The ACM certificate was re-imported in place, in both regions (never a second import).
    for (const region of [REGION, 'us-east-1']) {
      expect(
        fake.acmCertificates(region).filter((c) => c.tags['certflow:certificate'] === 'apex'),
      ).toHaveLength(1);
    }
    expect(
      recorded
        .filter((r) => r.action === 'acm:ImportCertificate')
        .map((r) => r.summary)
        .sort(),
    ).toEqual([
      'new import (eu-west-1)',
      'new import (us-east-1)',
      're-import (eu-west-1)',
      're-import (us-east-1)',
    ]);
  });

  it('every call the pipeline made is allowed for the function that made it', () => {
    const denied = allowedTable.filter((r) => r.verdict !== 'Allowed');
    expect(verdictTable('denied:', denied)).toBe('denied:');
  });

  it('computes the Route 53 condition keys from each change batch as AWS documents (TXT, CREATE/DELETE, normalized names)', () => {
    const changes = recorded.filter((r) => r.action === 'route53:ChangeResourceRecordSets');
    expect(new Set(changes.map((r) => r.step))).toEqual(new Set(['PublishRecords', 'Cleanup']));
    for (const r of changes) {
      expect(r.resource).toBe(`arn:aws:route53:::hostedzone/${hostedZoneId}`);
      expect(r.context['route53:ChangeResourceRecordSetsRecordTypes']).toEqual(['TXT']);
      for (const a of r.context['route53:ChangeResourceRecordSetsActions'] as string[])
        expect(['CREATE', 'DELETE']).toContain(a);
      for (const n of r.context['route53:ChangeResourceRecordSetsNormalizedRecordNames'] as string[]) {
        expect(n).toMatch(new RegExp(`^[a-z0-9_.-]+\\.${bind.delegatedZone.replace(/\./g, '\\.')}$`));
      }
    }
    // Cleanup deleted the values of the failed run (DELETE of the set, nothing left behind).
    expect(
      changes.some(
        (r) =>
          r.step === 'Cleanup' &&
          (r.context['route53:ChangeResourceRecordSetsActions'] as string[]).includes('DELETE'),
      ),
    ).toBe(true);
  });

  it('models the KMS calls Secrets Manager and SNS make on the functions’ behalf, pinned by kms:ViaService', () => {
    const kms = recorded.filter((r) => r.action.startsWith('kms:'));
    const by = (via: string) => new Set(kms.filter((r) => r.via === via).map((r) => `${r.step} ${r.action}`));
    expect(by('secretsmanager:GetSecretValue')).toEqual(
      new Set(
        ['SelectDue', 'CreateOrder', 'AnswerChallenges', 'CheckOrder', 'FinalizeAndStore'].map(
          (s) => `${s} kms:Decrypt`,
        ),
      ),
    );
    expect(by('secretsmanager:PutSecretValue')).toEqual(
      new Set(['SelectDue kms:GenerateDataKey', 'FinalizeAndStore kms:GenerateDataKey']),
    );
    expect(by('sns:Publish')).toEqual(
      new Set([
        'RecordFailure kms:GenerateDataKey',
        'RecordFailure kms:Decrypt',
        'Summarize kms:GenerateDataKey',
        'Summarize kms:Decrypt',
      ]),
    );
    for (const r of kms)
      expect(String(r.context['kms:ViaService'])).toMatch(
        /^(secretsmanager|sns)\.eu-west-1\.amazonaws\.com$/,
      );
  });

  it('every call it must never make is denied, for every function', () => {
    const allowed = forbiddenTable.filter((r) => r.verdict === 'Allowed');
    expect(verdictTable('allowed but forbidden:', allowed)).toBe('allowed but forbidden:');
    // The list covers each rule of the posture.
    const rules = new Set(forbidden.map((f) => f.rule));
    for (const rule of [
      'UPSERT is a blind overwrite; only CREATE/DELETE are allowed',
      'only TXT records may be written',
      'names outside the delegated zone (the primary zone) must not be written',
      'another hosted zone must not be written, even with TXT below the delegated zone name',
      'only FinalizeAndStore writes certificate secrets',
      'the ACME account key is read only by the functions that use it',
      'KMS keys are usable only through the service they are pinned to',
    ]) {
      expect(rules).toContain(rule);
    }
  });

  describe('fails when a statement is widened or a needed one removed (policies mutated on a copy)', () => {
    /** A deep copy of the deployment with `step`'s policy statements passed through `mutate`. */
    function mutated(
      step: TaskStep,
      mutate: (statements: Record<string, unknown>[]) => void,
    ): DeployedAccount {
      const copy: DeployedAccount = structuredClone(account);
      for (const p of copy.functions[step].policies)
        mutate((p.policy as PolicyDocument).Statement as Record<string, unknown>[]);
      return copy;
    }
    const statementWith = (statements: Record<string, unknown>[], action: string) => {
      const s = statements.find((x) => ([] as unknown[]).concat(x.Action).includes(action));
      if (!s) throw new Error(`no statement grants ${action}`);
      return s;
    };
    const verdictsOf = async (rows: IamRequest[], acct: DeployedAccount) =>
      (await evaluateAll(rows, acct)).map((r) => r.verdict);
    const forbiddenFor = (step: TaskStep, rule: string) =>
      forbidden.filter((f) => f.step === step && f.rule === rule);

    it.each([
      [
        'route53:ChangeResourceRecordSets widened to Resource "*"',
        'PublishRecords',
        'another hosted zone must not be written, even with TXT below the delegated zone name',
        (st: Record<string, unknown>[]) => {
          statementWith(st, 'route53:ChangeResourceRecordSets').Resource = '*';
        },
      ],
      [
        'the route53:ChangeResourceRecordSetsRecordTypes condition dropped',
        'Cleanup',
        'only TXT records may be written',
        (st: Record<string, unknown>[]) => {
          const c = statementWith(st, 'route53:ChangeResourceRecordSets').Condition as Record<
            string,
            Record<string, unknown>
          >;
          delete c['ForAllValues:StringEquals']?.['route53:ChangeResourceRecordSetsRecordTypes'];
        },
      ],
      [
        'the route53:ChangeResourceRecordSetsActions condition dropped',
        'PublishRecords',
        'UPSERT is a blind overwrite; only CREATE/DELETE are allowed',
        (st: Record<string, unknown>[]) => {
          const c = statementWith(st, 'route53:ChangeResourceRecordSets').Condition as Record<
            string,
            Record<string, unknown>
          >;
          delete c['ForAllValues:StringEquals']?.['route53:ChangeResourceRecordSetsActions'];
        },
      ],
      [
        'the normalized-names condition widened to "*"',
        'PublishRecords',
        'names outside the delegated zone (the primary zone) must not be written',
        (st: Record<string, unknown>[]) => {
          const c = statementWith(st, 'route53:ChangeResourceRecordSets').Condition as Record<
            string,
            Record<string, unknown>
          >;
          (c['ForAllValues:StringLike'] as Record<string, unknown>)[
            'route53:ChangeResourceRecordSetsNormalizedRecordNames'
          ] = ['*'];
        },
      ],
      [
        'SelectDue\'s account-secret statement widened to Resource "*"',
        'SelectDue',
        'only FinalizeAndStore writes certificate secrets',
        (st: Record<string, unknown>[]) => {
          statementWith(st, 'secretsmanager:PutSecretValue').Resource = '*';
        },
      ],
      [
        'the kms:ViaService condition dropped from FinalizeAndStore',
        'FinalizeAndStore',
        'KMS keys are usable only through the service they are pinned to',
        (st: Record<string, unknown>[]) => {
          delete statementWith(st, 'kms:Decrypt').Condition;
        },
      ],
    ])('%s: a forbidden call becomes allowed', async (_what, step, rule, mutate) => {
      const rows = forbiddenFor(step as TaskStep, rule);
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(await verdictsOf(rows, account))).not.toContain('Allowed');
      const after = await verdictsOf(rows, mutated(step as TaskStep, mutate));
      expect(after).toContain('Allowed');
    });

    it.each([
      ['CreateOrder', 'secretsmanager:GetSecretValue'],
      ['CheckPropagation', 'route53:GetChange'],
      ['PublishRecords', 'route53:ListResourceRecordSets'],
      ['FinalizeAndStore', 'acm:ImportCertificate'],
      ['Summarize', 'sns:Publish'],
      ['RecordFailure', 'kms:GenerateDataKey'],
    ])('%s without its statement for %s: a call the pipeline made becomes denied', async (step, action) => {
      const rows = recorded.filter((r) => r.step === step && r.action === action);
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(await verdictsOf(rows, account))).toEqual(new Set(['Allowed']));
      const after = await verdictsOf(
        rows,
        mutated(step as TaskStep, (st) => {
          const s = statementWith(st, action);
          st.splice(st.indexOf(s), 1);
        }),
      );
      expect(after).not.toContain('Allowed');
    });
  });
});
