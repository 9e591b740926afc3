/**
 * IAM, evaluated: every AWS call the pipeline makes, recorded while it issues, renews and fails
 * for real (real Pebble, real BIND, the real core steps and AWS adapters wired by
 * each handler's wiring with each function's synthesized environment; AWS answered at
 * the SDK boundary from AWS's documented responses), turned into IAM request contexts and
 * evaluated with @cloud-copilot/iam-simulate against the synthesized role policies (and the KMS
 * key and SNS topic policies), CloudFormation intrinsics resolved to concrete ARNs.
 *
 * What it covers: Route 53 record changes; secrets created at run time under the name prefix
 * (`<prefix>/acme-account/*` by SelectDue, `<prefix>/certificate/*` and `<prefix>/pending-key/*`
 * by FinalizeAndStore), with the KMS calls Secrets Manager makes on the caller's behalf and the
 * TagResource permission CreateSecret needs for its tags; ACM imports; the ACM expiry alarm
 * FinalizeAndStore puts (CloudWatch PutMetricAlarm, its cloudwatch:AlarmActions); SNS alerts; the pending-values
 * DynamoDB table (PublishRecords PutItem; Cleanup BatchWriteItem and the sweep's Scan); and the
 * run-start sweep's states:DescribeExecution on this state machine's executions (the Cleanup role's
 * CleanupSweepPolicy).
 *
 * How to extend:
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
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import {
  afterRedeploy,
  type DeployedAccount,
  deployedAccount,
  type PolicyDocument,
  sharingAccount,
} from './harness/deployment';
import {
  type Evaluated,
  evaluateAll,
  forbiddenTable as forbiddenTableText,
  verdictTable,
} from './harness/evaluate';
import { FakeAws } from './harness/fake-aws';
import { type ForbiddenRequest, forbiddenRequests } from './harness/forbidden';
import { PipelineDriver, type RunOutcome } from './harness/pipeline';
import { type IamRequest, iamRequestsOf, secretKind, secretNamePrefix } from './harness/requests';

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
  let prefix: string;
  let pendingTable: string;
  /** The pending TXT values in the run-state table (the new-order budget item is not one). */
  const pendingValues = () => fake.tableItems(pendingTable).filter((i) => i.fqdn !== undefined);
  let leftByKill: number;
  let sweeping: RunOutcome;
  let killedExecution: string;
  /** The ACM expiry alarms CloudWatch held after the first deployment's runs, by region. */
  let alarmsOfFirstDeployment: Record<string, ReturnType<FakeAws['alarms']>>;
  /** The same stack deleted and deployed again (same prefix): its account and its runs' calls. */
  let redeployed: DeployedAccount;
  let redeployRuns: RunOutcome[];
  let redeployRecorded: IamRequest[];
  /** A second stack in the same account (its own prefix), and the calls of its first issue. */
  let other: DeployedAccount;
  let otherRecorded: IamRequest[];
  const redeployLogFile = join(tmpdir(), `certflow-iam-log-redeploy-${process.pid}.jsonl`);
  const caFile = join(tmpdir(), `certflow-iam-ca-${process.pid}.pem`);
  const configFile = join(tmpdir(), `certflow-iam-config-${process.pid}.json`);
  /** Every function's log lines (CERTFLOW_LOG_FILE), to find the warnings the runs logged. */
  const logFile = join(tmpdir(), `certflow-iam-log-${process.pid}.jsonl`);
  /** The WARN lines the functions logged over every run: `step: message`. */
  const warnings = (): string[] =>
    (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { level?: string; step?: string; message?: string })
      .filter((l) => l.level === 'WARN')
      .map((l) => `${l.step}: ${l.message}`);
  /** The configuration the functions read (the layer's file), pointing at the local CA and BIND. */
  const writeConfigFile = (json: string): string => {
    writeFileSync(configFile, json);
    return configFile;
  };

  beforeAll(async () => {
    rmSync(logFile, { force: true });
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
      // The new-order budget is on (Let's Encrypt's own numbers), so its DynamoDB item is exercised.
      renewal: { newOrderLimit: { orders: 300, windowMinutes: 180 } },
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
    rmSync(redeployLogFile, { force: true });
    account = deployedAccount(json as unknown as Template, {
      partition: 'aws',
      region: REGION,
      account: ACCOUNT,
      stackName: 'CertflowTest',
    });
    hostedZoneId = [...account.hostedZones.keys()][0] as string;
    prefix = secretNamePrefix(account);
    pendingTable = [...account.tables.keys()][0] as string;
    fake = new FakeAws({
      account: ACCOUNT,
      hostedZones: account.hostedZones,
      secrets: account.secrets,
      secretKeys: account.secretKeys,
      tables: account.tables,
      region: REGION,
      mirror: new Rfc2136Provider({ server: bind.address, zone: bind.delegatedZone, tsig: bind.tsig }),
    });
    fake.install();
    const driver = new PipelineDriver(
      account,
      fake,
      { AWS_REGION: REGION },
      { [ENV.configFile]: writeConfigFile(configForFunctions(config)), [ENV.logFile]: logFile },
    );

    // Issue two certificates (one also into ACM in two regions): the account, certificate and
    // pending-key secrets are created on the way.
    const issue = await driver.run({ certificates: ['apex', 'www'] });
    expect(issue.results.map((r) => r.status)).toEqual(['issued', 'issued']);
    // Scheduled renewal: nothing valid is due; the never-issued "broken" fails at CreateOrder.
    const scheduled = await driver.run({});
    expect(scheduled.selection.skipped.map((s) => s.certificate).sort()).toEqual(['apex', 'www']);
    expect(scheduled.results).toEqual([
      expect.objectContaining({ certificate: 'broken', status: 'failed', step: 'CreateOrder' }),
    ]);
    // Forced renewal: re-import into the same ACM ARNs, new secret versions. The apex secret
    // carries a certflow:* tag the new certificate does not need (an earlier version wrote more
    // domain tags), so the store also removes it (UntagResource).
    fake.tagSecret(`${prefix}/certificate/apex`, 'certflow:domains:9', 'stale');
    const renewal = await driver.run({ certificates: ['apex'], force: true });
    expect(renewal.results.map((r) => r.status)).toEqual(['issued']);
    // A failure after the records were published: Cleanup removes them, RecordFailure alerts.
    const failed = await driver.run(
      { certificates: ['www'], force: true },
      { failAfter: { www: 'PublishRecords' } },
    );
    expect(failed.results).toEqual([expect.objectContaining({ status: 'failed', step: 'PublishRecords' })]);
    // A run killed after PublishRecords (StopExecution): its values stay in the zone and the table...
    const killed = await driver.run(
      { certificates: ['www'], force: true },
      { killAfter: { www: 'PublishRecords' } },
    );
    expect(killed.killed).toBe(true);
    leftByKill = pendingValues().length;
    // ...until the next run's sweep asks Step Functions whether that execution is over.
    sweeping = await driver.run({ certificates: ['apex'] });
    // The values belong to the IssueBatch child execution that wrote them.
    killedExecution = killed.batchExecutions[0] as string;
    recorded = fake.calls.flatMap((c) => iamRequestsOf(c, account));
    alarmsOfFirstDeployment = { [REGION]: fake.alarms(REGION), 'us-east-1': fake.alarms('us-east-1') };

    // `cdk destroy`, then `cdk deploy` with the same configuration: every resource is new (new
    // roles, functions, table, topic, zone, secrets key) but what the delete kept: the retained
    // secrets key (with its tags and key policy), and the secrets and ACM certificates the
    // functions created at run time, encrypted with that key. The new deployment renews both
    // certificates and issues nothing new: it must read the account key and both secrets.
    redeployed = afterRedeploy(
      account,
      deployedAccount(json as unknown as Template, {
        partition: 'aws',
        region: REGION,
        account: ACCOUNT,
        stackName: 'CertflowTest',
        instance: 'deployed again',
      }),
    );
    fake.deploy(redeployed);
    const firstCall = fake.calls.length;
    const again = new PipelineDriver(
      redeployed,
      fake,
      { AWS_REGION: REGION },
      { [ENV.configFile]: configFile, [ENV.logFile]: redeployLogFile },
    );
    redeployRuns = [await again.run({}), await again.run({ certificates: ['apex', 'www'], force: true })];
    redeployRecorded = fake.calls.slice(firstCall).flatMap((c) => iamRequestsOf(c, redeployed));

    // Another stack in the same account, same configuration, its own name (and so its own
    // prefix): its first issue, against an AWS of its own (the fakes cannot share the mocked
    // clients); IAM evaluates every request by ARN and tags, whichever fake answered it.
    fake.restore();
    const otherJson = synth(deployed, { stackName: 'CertflowOther' }).json;
    other = deployedAccount(otherJson as unknown as Template, {
      partition: 'aws',
      region: REGION,
      account: ACCOUNT,
      stackName: 'CertflowOther',
      instance: 'CertflowOther',
    });
    const otherFake = new FakeAws({
      account: ACCOUNT,
      hostedZones: other.hostedZones,
      secrets: other.secrets,
      secretKeys: other.secretKeys,
      tables: other.tables,
      region: REGION,
      mirror: new Rfc2136Provider({ server: bind.address, zone: bind.delegatedZone, tsig: bind.tsig }),
    });
    otherFake.install();
    try {
      const otherIssue = await new PipelineDriver(
        other,
        otherFake,
        { AWS_REGION: REGION },
        { [ENV.configFile]: configFile, [ENV.logFile]: redeployLogFile },
      ).run({ certificates: ['apex', 'www'] });
      expect(otherIssue.results.map((r) => r.status)).toEqual(['issued', 'issued']);
    } finally {
      otherFake.restore();
    }
    otherRecorded = otherFake.calls.flatMap((c) => iamRequestsOf(c, other));
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
    rmSync(logFile, { force: true });
    rmSync(redeployLogFile, { force: true });
  });

  /** `step action` of the recorded requests matching `keep`, as a sorted list of distinct lines. */
  const made = (keep: (r: IamRequest) => boolean, describe = (r: IamRequest) => `${r.step} ${r.action}`) =>
    [...new Set(recorded.filter(keep).map(describe))].sort();

  it('records calls from every function, and the pipeline really issued, renewed and re-imported', () => {
    const steps = new Set(recorded.map((r) => r.step));
    expect([...TASK_STEPS].filter((s) => !steps.has(s))).toEqual([]);
    expect(new Set(fake.calls.map((c) => c.service))).toEqual(
      new Set(['route53', 'secretsmanager', 'acm', 'sns', 'dynamodb', 'states', 'cloudwatch']),
    );
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

  it('no function logged a warning but the sweep of the killed run: no call failed and was swallowed (an AWS call the fake does not answer would be one)', () => {
    // The log file is really written (FinalizeAndStore logs the alarm it put)...
    expect(readFileSync(logFile, 'utf8')).toContain('"ACM expiry alarm in place"');
    // ...and its only warning is the one the killed run's leftovers call for; a swallowed failure
    // (e.g. "could not put the alarm on ACM's DaysToExpiry") would be another.
    expect(warnings()).toEqual(['Cleanup: swept TXT values left by earlier runs']);
  });

  it("FinalizeAndStore puts the ACM expiry alarm (cloudwatch:PutMetricAlarm) in its region, named with the deployment's prefix, notifying only the alerts topic", () => {
    const topic = account.functions.FinalizeAndStore.environment[ENV.topicArn] as string;
    const namePrefix = account.functions.FinalizeAndStore.environment[ENV.alarmNamePrefix] as string;
    expect(topic).toMatch(/^arn:aws:sns:eu-west-1:123456789012:/);
    const puts = allowedTable.filter((r) => r.action.startsWith('cloudwatch:'));
    // Issued, then re-imported by the forced renewal: put twice, each time the same alarm.
    expect(puts.map((r) => [r.step, r.action, r.resource, r.verdict])).toEqual([
      [
        'FinalizeAndStore',
        'cloudwatch:PutMetricAlarm',
        `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${namePrefix}apex`,
        'Allowed',
      ],
      [
        'FinalizeAndStore',
        'cloudwatch:PutMetricAlarm',
        `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${namePrefix}apex`,
        'Allowed',
      ],
    ]);
    for (const r of puts) {
      expect(r.context['cloudwatch:AlarmActions']).toEqual([topic]);
      expect(r.context['aws:RequestedRegion']).toBe(REGION);
    }
    // What CloudWatch now holds: one alarm, on the copy in the function's region (none for the
    // us-east-1 copy: an alarm watches metrics of its own region only).
    const [apexArn] = fake
      .acmCertificates(REGION)
      .filter((c) => c.tags['certflow:certificate'] === 'apex')
      .map((c) => c.arn);
    expect(alarmsOfFirstDeployment['us-east-1']).toEqual([]);
    expect(alarmsOfFirstDeployment[REGION]).toEqual([
      expect.objectContaining({
        AlarmName: `${namePrefix}apex`,
        // ACM's DaysToExpiry of this copy, in metric math (test/cdk/alarm-evaluation.test.ts)
        Metrics: expect.arrayContaining([
          expect.objectContaining({
            MetricStat: expect.objectContaining({
              Metric: {
                Namespace: 'AWS/CertificateManager',
                MetricName: 'DaysToExpiry',
                Dimensions: [{ Name: 'CertificateArn', Value: apexArn }],
              },
            }),
          }),
        ]),
        AlarmActions: [topic],
        OKActions: [topic],
      }),
    ]);
  });

  it('creates every secret at run time under the prefix, each kind by the function that owns it', () => {
    const secretCalls = recorded.filter((r) => r.action.startsWith('secretsmanager:'));
    // Every secret named in a call is one of the three kinds under the prefix.
    expect(secretCalls.filter((r) => secretKind(r.resource, account).kind === 'other')).toEqual([]);
    for (const r of secretCalls) expect(r.resource).toContain(`:secret:${prefix}/`);
    const byKind = (kind: string) =>
      made((r) => r.action.startsWith('secretsmanager:') && secretKind(r.resource, account).kind === kind);
    expect(byKind('acme-account')).toEqual([
      'AnswerChallenges secretsmanager:GetSecretValue',
      'CheckOrder secretsmanager:GetSecretValue',
      'CreateOrder secretsmanager:GetSecretValue',
      'FinalizeAndStore secretsmanager:GetSecretValue',
      'SelectDue secretsmanager:CreateSecret',
      'SelectDue secretsmanager:GetSecretValue',
      'SelectDue secretsmanager:TagResource',
    ]);
    expect(byKind('certificate')).toEqual([
      'FinalizeAndStore secretsmanager:CreateSecret',
      'FinalizeAndStore secretsmanager:DescribeSecret',
      'FinalizeAndStore secretsmanager:PutSecretValue',
      'FinalizeAndStore secretsmanager:TagResource',
      'FinalizeAndStore secretsmanager:UntagResource',
      'SelectDue secretsmanager:DescribeSecret',
    ]);
    expect(byKind('pending-key')).toEqual([
      'FinalizeAndStore secretsmanager:CreateSecret',
      'FinalizeAndStore secretsmanager:GetSecretValue',
      'FinalizeAndStore secretsmanager:PutSecretValue',
      'FinalizeAndStore secretsmanager:TagResource',
    ]);
    // Secrets that did not exist yet were asked for by name (the ARN without a suffix), and found absent.
    const absent = recorded.filter((r) => r.summary.endsWith('(ResourceNotFoundException)'));
    for (const r of absent) expect(r.resource).toMatch(new RegExp(`:secret:${prefix}/[a-z-]+/[a-z0-9]+$`));
    expect(
      made(
        (r) => r.summary.endsWith('(ResourceNotFoundException)'),
        (r) => `${r.step} ${r.action} ${secretKind(r.resource, account).kind}`,
      ),
    ).toEqual([
      'FinalizeAndStore secretsmanager:DescribeSecret certificate',
      'FinalizeAndStore secretsmanager:GetSecretValue pending-key',
      'FinalizeAndStore secretsmanager:PutSecretValue pending-key',
      'SelectDue secretsmanager:DescribeSecret certificate',
      'SelectDue secretsmanager:GetSecretValue acme-account',
    ]);
    // The secrets that exist now: one ACME account, one certificate secret per certificate
    // issued, one pending key per certificate finalized (kept after the store, until the
    // certificate's next order replaces it: a repeated attempt then stores nothing new).
    const names = [...account.secrets.values()].map((x) => x.name).sort();
    expect(names).toEqual([
      expect.stringMatching(new RegExp(`^${prefix}/acme-account/[0-9a-f]{16}$`)),
      `${prefix}/certificate/apex`,
      `${prefix}/certificate/www`,
      `${prefix}/pending-key/apex`,
      `${prefix}/pending-key/www`,
    ]);
  });

  it('CreateSecret with tags is also a secretsmanager:TagResource request on the new secret (API reference, "Required permissions")', () => {
    const creates = recorded.filter((r) => r.action === 'secretsmanager:CreateSecret');
    expect(creates.length).toBeGreaterThan(0);
    for (const create of creates) {
      const tagKeys = create.context['aws:TagKeys'] as string[];
      expect(tagKeys).toContain('certflow:managed-by');
      expect(recorded).toContainEqual(
        expect.objectContaining({
          step: create.step,
          action: 'secretsmanager:TagResource',
          resource: create.resource,
          via: 'secretsmanager:CreateSecret',
          context: expect.objectContaining({ 'aws:TagKeys': tagKeys }),
        }),
      );
    }
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
    const by = (via: string) => made((r) => r.action.startsWith('kms:') && r.via === via);
    expect(by('secretsmanager:GetSecretValue')).toEqual(
      ['AnswerChallenges', 'CheckOrder', 'CreateOrder', 'FinalizeAndStore', 'SelectDue'].map(
        (s) => `${s} kms:Decrypt`,
      ),
    );
    expect(by('secretsmanager:PutSecretValue')).toEqual(['FinalizeAndStore kms:GenerateDataKey']);
    // CreateSecret with a customer managed key: kms:GenerateDataKey and kms:Decrypt.
    expect(by('secretsmanager:CreateSecret')).toEqual([
      'FinalizeAndStore kms:Decrypt',
      'FinalizeAndStore kms:GenerateDataKey',
      'SelectDue kms:Decrypt',
      'SelectDue kms:GenerateDataKey',
    ]);
    expect(by('sns:Publish')).toEqual([
      'RecordFailure kms:Decrypt',
      'RecordFailure kms:GenerateDataKey',
      'Summarize kms:Decrypt',
      'Summarize kms:GenerateDataKey',
    ]);
    for (const r of kms) {
      expect(String(r.context['kms:ViaService'])).toMatch(
        /^(secretsmanager|sns)\.eu-west-1\.amazonaws\.com$/,
      );
      expect(r.resource).toMatch(/^arn:aws:kms:eu-west-1:123456789012:key\//);
    }
  });

  it('the pending-values table: PublishRecords records each value (PutItem), Cleanup forgets them (BatchWriteItem DeleteRequest) and the sweep lists them (Scan)', () => {
    const tableArn = account.tables.get(pendingTable) as string;
    const calls = recorded.filter((r) => r.action.startsWith('dynamodb:'));
    expect(new Set(calls.map((r) => r.resource))).toEqual(new Set([tableArn]));
    expect(made((r) => r.action.startsWith('dynamodb:'))).toEqual([
      'Cleanup dynamodb:BatchWriteItem',
      'Cleanup dynamodb:Scan',
      'PublishRecords dynamodb:PutItem',
      'SelectDue dynamodb:GetItem',
      'SelectDue dynamodb:PutItem',
    ]);
    // SelectDue reads and replaces only the new-order budget item.
    for (const r of calls.filter((c) => c.step === 'SelectDue'))
      expect(r.context['dynamodb:LeadingKeys']).toEqual([expect.stringMatching(/^order-budget\|/)]);
    for (const r of calls.filter((c) => c.action === 'dynamodb:BatchWriteItem'))
      expect(r.summary).toMatch(/^[1-9]\d* DeleteRequest, 0 PutRequest$/);
    // Nothing is left pending once every run is over (the killed run's values were swept).
    expect(pendingValues()).toEqual([]);
    // ...while the new-order budget item stays, holding this account's recent orders.
    expect(fake.tableItems(pendingTable).map((i) => i.pk?.S)).toEqual([
      expect.stringMatching(/^order-budget\|/),
    ]);
  });

  it("the run-start sweep asks Step Functions about the killed run's execution (states:DescribeExecution) and removes what it left", () => {
    expect(leftByKill).toBeGreaterThan(0);
    expect(sweeping.sweep.removed).toEqual([
      expect.objectContaining({ certificate: 'www', executionId: killedExecution }),
    ]);
    expect(sweeping.sweep.removed.reduce((n, r) => n + r.values, 0)).toBe(leftByKill);
    const described = recorded.filter((r) => r.action === 'states:DescribeExecution');
    expect(described.map((r) => [r.step, r.resource, r.summary])).toEqual([
      ['Cleanup', killedExecution, `execution ${killedExecution.split(':').pop()} (ABORTED)`],
    ]);
    expect(
      killedExecution.startsWith(
        `arn:aws:states:${REGION}:${ACCOUNT}:execution:${account.batchStateMachine.name}:`,
      ),
    ).toBe(true);
    // The zone holds no TXT value any more.
    expect(fake.recordSets(hostedZoneId)).toEqual([]);
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
      'a secret outside the prefix is out of reach',
      'only FinalizeAndStore writes certificate secrets',
      "no function reads a certificate's private key (GetSecretValue)",
      'pending private keys are read and written only by FinalizeAndStore',
      'the ACME account key is read only by the functions that use it',
      'the ACME account key is written only by the function that registers the account',
      'KMS keys are usable only through the service they are pinned to',
      'DynamoDB: no table but the pending-values table (same name in another region included)',
      'only PublishRecords and Cleanup write the pending-values table',
      "another state machine's executions are not described",
      "only Cleanup (the sweep) describes this state machine's executions",
      'only FinalizeAndStore imports into ACM',
      'only FinalizeAndStore tags ACM certificates',
      'no function makes an ACM call the pipeline does not use',
      'a certificate certflow did not import is never written or described',
      "a new ACM import carries this deployment's tag and certflow's tag keys only",
      "tagging changes only the CertID tag of this deployment's certificates",
      'SNS: no topic but the alerts topic (same name in another region included)',
      'alarms notify only the alerts topic (cloudwatch:AlarmActions)',
      "only the deployment's alarms (its name prefix) are put",
      'only FinalizeAndStore puts alarms',
      'alarms are only put, never deleted, silenced or set',
    ]) {
      expect(rules).toContain(rule);
    }
    // "A secret outside the prefix" is evaluated for every function, including the prefix
    // boundary (`<prefix>-other/…`).
    const outside = forbidden.filter((f) => f.rule === 'a secret outside the prefix is out of reach');
    expect(new Set(outside.map((f) => f.step))).toEqual(new Set(TASK_STEPS));
    expect(outside.map((f) => f.resource)).toEqual(
      expect.arrayContaining([
        expect.stringContaining(':secret:otherapp/db-password'),
        expect.stringContaining(`:secret:${prefix}-other/certificate/x`),
      ]),
    );
    // Writes to the pending table were evaluated for every function but the two that write it.
    const tableWriters = forbidden.filter(
      (f) => f.rule === 'only PublishRecords and Cleanup write the pending-values table',
    );
    expect(new Set(tableWriters.map((f) => f.step))).toEqual(
      new Set(TASK_STEPS.filter((s) => s !== 'PublishRecords' && s !== 'Cleanup')),
    );
    // PutMetricAlarm is evaluated for every function but FinalizeAndStore; the ACM operations
    // no function uses include deleting and exporting a certificate.
    expect(
      new Set(forbidden.filter((f) => f.rule === 'only FinalizeAndStore puts alarms').map((f) => f.step)),
    ).toEqual(new Set(TASK_STEPS.filter((s) => s !== 'FinalizeAndStore')));
    const unusedAcm = forbidden.filter(
      (f) => f.rule === 'no function makes an ACM call the pipeline does not use',
    );
    expect(new Set(unusedAcm.map((f) => f.step))).toEqual(new Set(TASK_STEPS));
    expect(new Set(unusedAcm.map((f) => f.action))).toEqual(
      new Set([
        'acm:DeleteCertificate',
        'acm:ExportCertificate',
        'acm:GetCertificate',
        'acm:RenewCertificate',
        'acm:RequestCertificate',
        'acm:ResendValidationEmail',
        'acm:UpdateCertificateOptions',
        'acm:RevokeCertificate',
        'acm:PutAccountConfiguration',
      ]),
    );
  });

  describe('fails when a statement is widened or a needed one removed (policies mutated on a copy)', () => {
    /** A deep copy of the deployment with `step`'s policy statements passed through `mutate`. */
    function mutated(
      step: TaskStep,
      mutate: (statements: Record<string, unknown>[]) => void,
    ): DeployedAccount {
      const copy: DeployedAccount = structuredClone(account);
      const all = copy.functions[step].policies.flatMap(
        (p) => (p.policy as PolicyDocument).Statement as Record<string, unknown>[],
      );
      // One list, so a mutation finds a statement in whichever policy holds it (the role's
      // inline policy or the CleanupSweepPolicy).
      mutate(all);
      copy.functions[step].policies = [
        { name: 'mutated', policy: { Version: '2012-10-17', Statement: all as PolicyDocument['Statement'] } },
      ];
      return copy;
    }
    /** The statement granting `action` (on a resource containing `resource`, when given). */
    const statementWith = (statements: Record<string, unknown>[], action: string, resource?: string) => {
      const s = statements.find(
        (x) =>
          ([] as unknown[]).concat(x.Action).includes(action) &&
          (resource === undefined ||
            ([] as unknown[]).concat(x.Resource).some((r) => String(r).includes(resource))),
      );
      if (!s) throw new Error(`no statement grants ${action}${resource ? ` on …${resource}…` : ''}`);
      return s;
    };
    /** The ACM statement granting `action` whose conditions name `conditionKey`. */
    const acmStatement = (statements: Record<string, unknown>[], action: string, conditionKey: string) => {
      const s = statements.find(
        (x) =>
          ([] as unknown[]).concat(x.Action).includes(action) &&
          JSON.stringify(x.Condition ?? {}).includes(conditionKey),
      );
      if (!s) throw new Error(`no statement grants ${action} with a condition on ${conditionKey}`);
      return s;
    };
    const verdictsOf = async (rows: IamRequest[], acct: DeployedAccount) =>
      (await evaluateAll(rows, acct)).map((r) => r.verdict);
    const forbiddenFor = (step: TaskStep, rule: string) =>
      forbidden.filter((f) => f.step === step && f.rule === rule);
    type Statements = Record<string, unknown>[];
    const conditionOf = (st: Statements, action: string) =>
      statementWith(st, action).Condition as Record<string, Record<string, unknown>>;

    it.each([
      [
        'route53:ChangeResourceRecordSets widened to Resource "*"',
        'PublishRecords',
        'another hosted zone must not be written, even with TXT below the delegated zone name',
        (st: Statements) => {
          statementWith(st, 'route53:ChangeResourceRecordSets').Resource = '*';
        },
      ],
      [
        'the route53:ChangeResourceRecordSetsRecordTypes condition dropped',
        'Cleanup',
        'only TXT records may be written',
        (st: Statements) => {
          delete conditionOf(st, 'route53:ChangeResourceRecordSets')['ForAllValues:StringEquals']?.[
            'route53:ChangeResourceRecordSetsRecordTypes'
          ];
        },
      ],
      [
        'the route53:ChangeResourceRecordSetsActions condition dropped',
        'PublishRecords',
        'UPSERT is a blind overwrite; only CREATE/DELETE are allowed',
        (st: Statements) => {
          delete conditionOf(st, 'route53:ChangeResourceRecordSets')['ForAllValues:StringEquals']?.[
            'route53:ChangeResourceRecordSetsActions'
          ];
        },
      ],
      [
        'the normalized-names condition widened to "*"',
        'PublishRecords',
        'names outside the delegated zone (the primary zone) must not be written',
        (st: Statements) => {
          (
            conditionOf(st, 'route53:ChangeResourceRecordSets')['ForAllValues:StringLike'] as Record<
              string,
              unknown
            >
          )['route53:ChangeResourceRecordSetsNormalizedRecordNames'] = ['*'];
        },
      ],
      [
        'FinalizeAndStore\'s <prefix>/certificate/* statement widened to Resource "*"',
        'FinalizeAndStore',
        'a secret outside the prefix is out of reach',
        (st: Statements) => {
          statementWith(st, 'secretsmanager:CreateSecret', '/certificate/').Resource = '*';
        },
      ],
      [
        "SelectDue's <prefix>/acme-account/* widened across the prefix boundary (<prefix>*)",
        'SelectDue',
        'a secret outside the prefix is out of reach',
        (st: Statements) => {
          const s = statementWith(st, 'secretsmanager:CreateSecret', '/acme-account/');
          s.Resource = String(s.Resource).replace(/\/acme-account\/\*$/, '*');
        },
      ],
      [
        "FinalizeAndStore's <prefix>/pending-key/* statement widened to the whole prefix (<prefix>/*)",
        'FinalizeAndStore',
        'the ACME account key is written only by the function that registers the account',
        (st: Statements) => {
          const s = statementWith(st, 'secretsmanager:CreateSecret', '/pending-key/');
          s.Resource = String(s.Resource).replace(/\/pending-key\/\*$/, '/*');
        },
      ],
      [
        'SelectDue\'s account-secret statement widened to Resource "*"',
        'SelectDue',
        'only FinalizeAndStore writes certificate secrets',
        (st: Statements) => {
          statementWith(st, 'secretsmanager:PutSecretValue').Resource = '*';
        },
      ],
      [
        'the kms:ViaService condition dropped from FinalizeAndStore',
        'FinalizeAndStore',
        'KMS keys are usable only through the service they are pinned to',
        (st: Statements) => {
          delete statementWith(st, 'kms:Decrypt').Condition;
        },
      ],
      [
        'the kms:ViaService condition dropped from SelectDue (its account-secret key)',
        'SelectDue',
        'KMS keys are usable only through the service they are pinned to',
        (st: Statements) => {
          delete statementWith(st, 'kms:GenerateDataKey').Condition;
        },
      ],
      [
        'PublishRecords\' dynamodb:PutItem widened to Resource "*"',
        'PublishRecords',
        'DynamoDB: no table but the pending-values table (same name in another region included)',
        (st: Statements) => {
          statementWith(st, 'dynamodb:PutItem').Resource = '*';
        },
      ],
      [
        "SelectDue's new-order budget statement without its dynamodb:LeadingKeys conditions",
        'SelectDue',
        'the new-order budget never reaches a pending value',
        (st: Statements) => {
          delete statementWith(st, 'dynamodb:GetItem').Condition;
        },
      ],
      [
        "the cloudwatch:AlarmActions condition dropped from FinalizeAndStore's PutMetricAlarm",
        'FinalizeAndStore',
        'alarms notify only the alerts topic (cloudwatch:AlarmActions)',
        (st: Statements) => {
          delete statementWith(st, 'cloudwatch:PutMetricAlarm').Condition;
        },
      ],
      [
        "FinalizeAndStore's PutMetricAlarm widened to every alarm (…:alarm:*)",
        'FinalizeAndStore',
        "only the deployment's alarms (its name prefix) are put",
        (st: Statements) => {
          const s = statementWith(st, 'cloudwatch:PutMetricAlarm');
          s.Resource = String(s.Resource).replace(/:alarm:.*$/, ':alarm:*');
        },
      ],
      [
        'Summarize\'s sns:Publish widened to Resource "*"',
        'Summarize',
        'SNS: no topic but the alerts topic (same name in another region included)',
        (st: Statements) => {
          statementWith(st, 'sns:Publish').Resource = '*';
        },
      ],
      [
        "FinalizeAndStore's ACM statement widened to acm:*",
        'FinalizeAndStore',
        'no function makes an ACM call the pipeline does not use',
        (st: Statements) => {
          statementWith(st, 'acm:ImportCertificate').Action = 'acm:*';
        },
      ],
      [
        "FinalizeAndStore's re-import statement without its aws:ResourceTag condition",
        'FinalizeAndStore',
        'a certificate certflow did not import is never written or described',
        (st: Statements) => {
          delete acmStatement(st, 'acm:ImportCertificate', 'aws:ResourceTag/certflow:deployment').Condition;
        },
      ],
      [
        "SelectDue's DescribeCertificate without its aws:ResourceTag condition",
        'SelectDue',
        'a certificate certflow did not import is never written or described',
        (st: Statements) => {
          delete acmStatement(st, 'acm:DescribeCertificate', 'aws:ResourceTag/certflow:deployment').Condition;
        },
      ],
      [
        "FinalizeAndStore's new-import statement without its aws:RequestTag condition",
        'FinalizeAndStore',
        "a new ACM import carries this deployment's tag and certflow's tag keys only",
        (st: Statements) => {
          const s = acmStatement(st, 'acm:ImportCertificate', 'aws:RequestTag/certflow:deployment');
          delete (s.Condition as Record<string, unknown>).StringEquals;
        },
      ],
      [
        "FinalizeAndStore's ACM tagging without its aws:TagKeys condition",
        'FinalizeAndStore',
        "tagging changes only the CertID tag of this deployment's certificates",
        (st: Statements) => {
          const s = acmStatement(st, 'acm:AddTagsToCertificate', 'aws:TagKeys');
          delete (s.Condition as Record<string, unknown>)['ForAllValues:StringEquals'];
        },
      ],
      [
        'Cleanup\'s states:DescribeExecution (CleanupSweepPolicy) widened to Resource "*"',
        'Cleanup',
        "another state machine's executions are not described",
        (st: Statements) => {
          statementWith(st, 'states:DescribeExecution').Resource = '*';
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
      ['CreateOrder', 'secretsmanager:GetSecretValue', undefined],
      ['CheckPropagation', 'route53:GetChange', undefined],
      ['PublishRecords', 'route53:ListResourceRecordSets', undefined],
      ['Summarize', 'sns:Publish', undefined],
      ['RecordFailure', 'kms:GenerateDataKey', undefined],
      ['SelectDue', 'secretsmanager:CreateSecret', '/acme-account/'],
      ['FinalizeAndStore', 'secretsmanager:CreateSecret', '/certificate/'],
      ['FinalizeAndStore', 'secretsmanager:CreateSecret', '/pending-key/'],
      ['PublishRecords', 'dynamodb:PutItem', undefined],
      ['SelectDue', 'dynamodb:GetItem', undefined],
      ['Cleanup', 'dynamodb:BatchWriteItem', undefined],
      ['Cleanup', 'states:DescribeExecution', undefined],
      ['FinalizeAndStore', 'cloudwatch:PutMetricAlarm', undefined],
    ])(
      '%s without its statement for %s %s: a call the pipeline made becomes denied',
      async (step, action, resource) => {
        // The calls the removed statement granted: that action, or (for a secrets statement)
        // every Secrets Manager call on its kind of secret.
        const rows = recorded.filter(
          (r) =>
            r.step === step &&
            (resource === undefined
              ? r.action === action
              : r.action.startsWith('secretsmanager:') && r.resource.includes(resource)),
        );
        expect(rows.length).toBeGreaterThan(0);
        expect(new Set(await verdictsOf(rows, account))).toEqual(new Set(['Allowed']));
        const after = await verdictsOf(
          rows,
          mutated(step as TaskStep, (st) => {
            const s = statementWith(st, action, resource);
            st.splice(st.indexOf(s), 1);
          }),
        );
        expect(after).not.toContain('Allowed');
      },
    );

    it.each([
      ['re-import', 'aws:ResourceTag/certflow:deployment', 're-import'],
      ['new import', 'aws:RequestTag/certflow:deployment', 'new import'],
    ])(
      "FinalizeAndStore without its %s statement (the one conditioned on %s): the pipeline's %ss become denied",
      async (_what, conditionKey, summary) => {
        const rows = recorded.filter(
          (r) => r.action === 'acm:ImportCertificate' && r.summary.startsWith(summary),
        );
        expect(rows.length).toBeGreaterThan(0);
        expect(new Set(await verdictsOf(rows, account))).toEqual(new Set(['Allowed']));
        const after = await verdictsOf(
          rows,
          mutated('FinalizeAndStore', (st) => {
            st.splice(st.indexOf(acmStatement(st, 'acm:ImportCertificate', conditionKey)), 1);
          }),
        );
        expect(after).not.toContain('Allowed');
      },
    );
  });

  describe('a stack deleted and deployed again, and a second stack in the same account', () => {
    /** Whose key the first deployment left: the secrets key (retained) it encrypted the secrets with. */
    const retainedKey = () => account.functions.SelectDue.environment[ENV.secretsKmsKeyId] as string;

    it('the redeploy finds its account and certificates: every call allowed, the secrets read and renewed with the key the first deployment retained', async () => {
      expect(account.retainedKeys).toContain(retainedKey());
      expect(redeployed.functions.SelectDue.environment[ENV.secretsKmsKeyId]).not.toBe(retainedKey());
      expect(redeployRuns[1]?.results.map((r) => [r.certificate, r.status])).toEqual([
        ['apex', 'issued'],
        ['www', 'issued'],
      ]);
      const evaluated = await evaluateAll(redeployRecorded, redeployed);
      expect(
        verdictTable(
          'denied:',
          evaluated.filter((r) => r.verdict !== 'Allowed'),
        ),
      ).toBe('denied:');
      // No new ACME account and no new certificate secret: the first deployment's were found.
      expect(
        redeployRecorded
          .filter((r) => r.action === 'secretsmanager:CreateSecret')
          .map((r) => secretKind(r.resource, redeployed).kind),
      ).toEqual([]);
      // Through Secrets Manager, on the retained key: reading the account key and the pending
      // keys, and writing new certificate versions (a secret keeps its key).
      expect(
        [
          ...new Set(
            redeployRecorded
              .filter((r) => r.action.startsWith('kms:') && r.resource === retainedKey())
              .map((r) => `${r.step} ${r.action} via ${r.via}`),
          ),
        ].sort(),
      ).toEqual(
        expect.arrayContaining([
          'AnswerChallenges kms:Decrypt via secretsmanager:GetSecretValue',
          'CreateOrder kms:Decrypt via secretsmanager:GetSecretValue',
          'FinalizeAndStore kms:Decrypt via secretsmanager:GetSecretValue',
          'FinalizeAndStore kms:GenerateDataKey via secretsmanager:PutSecretValue',
          'SelectDue kms:Decrypt via secretsmanager:GetSecretValue',
        ]),
      );
      // ACM: re-imported into the certificates the first deployment imported (same ARNs).
      const firstArns = new Set(
        recorded.filter((r) => r.action === 'acm:ImportCertificate').map((r) => r.resource),
      );
      const reimports = redeployRecorded.filter((r) => r.action === 'acm:ImportCertificate');
      expect(reimports.map((r) => r.summary).sort()).toEqual([
        're-import (eu-west-1)',
        're-import (us-east-1)',
      ]);
      for (const r of reimports) expect(firstArns.has(r.resource)).toBe(true);
    });

    it("without the grant by the deployment's key tag, the redeploy is locked out: every KMS call on the retained key is denied", async () => {
      const rows = redeployRecorded.filter(
        (r) => r.action.startsWith('kms:') && r.resource === retainedKey(),
      );
      expect(rows.length).toBeGreaterThan(0);
      const locked: DeployedAccount = structuredClone(redeployed);
      for (const fn of Object.values(locked.functions)) {
        for (const p of fn.policies) {
          p.policy.Statement = p.policy.Statement.filter(
            (x) => !JSON.stringify(x.Condition ?? {}).includes('aws:ResourceTag/certflow:deployment'),
          );
        }
      }
      expect(new Set((await evaluateAll(rows, locked)).map((r) => r.verdict))).not.toContain('Allowed');
    });

    it("two stacks in one account share nothing: each one's calls are allowed for it and denied for the other (secrets, keys, certificates, zone, table, topic, alarms, executions)", async () => {
      expect(secretNamePrefix(other)).toBe('CertflowOther');
      expect(secretNamePrefix(account)).toBe('CertflowTest');
      const own = await evaluateAll(otherRecorded, other);
      expect(
        verdictTable(
          'denied:',
          own.filter((r) => r.verdict !== 'Allowed'),
        ),
      ).toBe('denied:');
      // Only what AWS does not scope by resource, or what finds a certificate by its tags, is
      // shared: ACM's list and tag reads, and Route 53's change status.
      const accountWide = new Set([
        'acm:ListCertificates',
        'acm:ListTagsForCertificate',
        'route53:GetChange',
      ]);
      const scoped = (rows: IamRequest[]) => rows.filter((r) => !accountWide.has(r.action));
      const allowedOf = (rows: Evaluated[]) =>
        verdictTable(
          'allowed:',
          rows.filter((r) => r.verdict === 'Allowed'),
        );
      const firstAsOther = await evaluateAll(
        scoped([...recorded, ...redeployRecorded]),
        sharingAccount(other, account, redeployed),
      );
      expect(allowedOf(firstAsOther)).toBe('allowed:');
      const otherAsFirst = await evaluateAll(scoped(otherRecorded), sharingAccount(account, other));
      expect(allowedOf(otherAsFirst)).toBe('allowed:');
      const otherAsRedeployed = await evaluateAll(scoped(otherRecorded), sharingAccount(redeployed, other));
      expect(allowedOf(otherAsRedeployed)).toBe('allowed:');
      // What was evaluated covers every service the pipeline uses, keys and certificates included.
      expect(new Set(firstAsOther.map((r) => r.action.split(':')[0]))).toEqual(
        new Set(['route53', 'secretsmanager', 'kms', 'acm', 'sns', 'dynamodb', 'states', 'cloudwatch']),
      );
      expect(otherAsFirst.map((r) => r.action)).toEqual(
        expect.arrayContaining([
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'acm:ImportCertificate',
          'secretsmanager:GetSecretValue',
        ]),
      );
    });
  });
});
