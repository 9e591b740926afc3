import {
  ACMClient,
  DescribeCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIO } from '../../cli/common';
import { planCommand } from '../../cli/plan';
import { type StatusReport, statusCommand } from '../../cli/status';
import { metadataToTags } from '../../lambdas/adapters/store/secrets-manager/metadata-tags';
import type { CertificateMetadata } from '../../lambdas/core/ports';
import {
  certificateSummary,
  DESCRIBED_RSA_2048,
  describeCertificateResponse,
  describedCertificate,
  ENUM_RSA_2048,
  listCertificatesResponse,
  listTagsResponse,
} from '../fixtures/aws/acm';
import { EXAMPLE_HOSTED_ZONE_ID, getHostedZoneResponse } from '../fixtures/aws/route53';
import { accessDenied, describeSecretResponse, resourceNotFound } from '../fixtures/aws/secrets-manager';

/**
 * The AWS side of `certflow status` and `certflow plan`, at the SDK boundary. Every response is
 * an AWS documentation example (source beside it, or in test/fixtures/aws/*); where a value had
 * to fit this deployment (tags, names, region), the comment says which.
 */

const dir = mkdtempSync(join(tmpdir(), 'certflow-aws-cli-'));
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:HelloWorld';
const EXECUTION_ARN = 'arn:aws:states:us-east-1:123456789012:execution:HelloWorld:MyExecution';
/** The stack's CertificateSecretNamePrefix output (lib/certflow.ts): secrets are `<prefix>/certificate/<name>`. */
const PREFIX = 'prod/certflow';
/**
 * A certificate secret's ARN: the AWS CLI describe-secret example's
 * (`arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestSecret-Ca8JGt`, test/fixtures/aws/
 * secrets-manager.ts [CLI-DESC]) with this deployment's region and the secret's name.
 */
const secretArn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-Ca8JGt`;
// Certificate ARNs from the AWS CLI list-certificates example
// (https://docs.aws.amazon.com/cli/latest/reference/acm/list-certificates.html).
const ACM_ARN = 'arn:aws:acm:region:account:certificate/12345678-1234-1234-1234-123456789012';
const OTHER_ACM_ARN = 'arn:aws:acm:region:account:certificate/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
// The version ids of the describe-secret example's VersionIdsToStages.
const PREVIOUS_VERSION = 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';
const CURRENT_VERSION = 'a1b2c3d4-5678-90ab-cdef-EXAMPLE22222';

function config(overrides: Record<string, unknown> = {}): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      acme: { directory: 'letsencrypt', email: 'hostmaster@example.com', termsOfServiceAgreed: true },
      delegation: { zone: 'acme.example.net', domains: ['example.com', 'example.net'] },
      dns: { provider: 'route53', createHostedZone: true },
      certificates: [
        { name: 'example', domains: ['example.com', '*.example.com'], stores: ['secretsmanager'] },
        { name: 'www', domains: ['www.example.com'], stores: ['secretsmanager'] },
        { name: 'api', domains: ['api.example.com'], stores: ['secretsmanager'] },
        { name: 'legacy', domains: ['legacy.example.com'], stores: ['secretsmanager'] },
        // the names of the ACM describe-certificate example
        {
          name: 'acm-cert',
          domains: ['www.example.com', 'www.example.net'],
          keyType: 'rsa-2048',
          stores: ['acm'],
        },
      ],
      ...overrides,
    }),
  );
  return file;
}

function outputsFile(outputs: Record<string, string>): string {
  // `cdk deploy --outputs-file` format (https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-deploy.html)
  const file = join(dir, `outputs-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ Certflow: outputs }));
  return file;
}

async function capture(fn: (io: CliIO) => Promise<number>) {
  const lines: string[] = [];
  const err: string[] = [];
  const code = await fn({ out: (l) => lines.push(l), err: (l) => err.push(l) });
  return { code, lines, err, out: lines.join('\n') };
}

/** The text table's cells (columns are separated by two or more spaces). */
const cells = (line: string | undefined) => String(line).split(/ {2,}/);

describe('certflow status with Secrets Manager, ACM and the deployed state machine', () => {
  const sm = mockClient(SecretsManagerClient);
  const acm = mockClient(ACMClient);
  const sfn = mockClient(SFNClient);
  afterAll(() => {
    sm.restore();
    acm.restore();
    sfn.restore();
  });

  const metadataOf = (name: string, serial: string): CertificateMetadata => ({
    name,
    domains: [`${name}.example.com`],
    keyType: 'ecdsa-p256',
    serial,
    issuer: '(STAGING) Ersatz Edamame E1',
    notBefore: '2016-05-20T00:00:00.000Z',
    notAfter: '2016-08-18T00:00:00.000Z',
    storedAt: '2016-05-20T00:05:00.000Z',
  });
  const wwwMetadata = metadataOf('www', '04a1b2c3d4e5f60718293a4b5c6d7e8f9a0b');
  const apiMetadata = metadataOf('api', '03f00dfeedc0ffee0123456789abcdef0011');

  /** DescribeCertificate of the ACM certificate: [CLI-DESC] verbatim but for its key algorithm's spelling. */
  const describeAs = (keyAlgorithm: string) =>
    acm
      .on(DescribeCertificateCommand, { CertificateArn: ACM_ARN })
      .resolves(
        describeCertificateResponse(describedCertificate({ arn: ACM_ARN, imported: false, keyAlgorithm })),
      );

  beforeAll(() => {
    // DescribeSecret of `<prefix>/certificate/<name>`, answered as AWS answers:
    // - "www": the describe-secret example (describeSecretResponse, test/fixtures/aws/secrets-manager.ts
    //   [CLI-DESC]) with the certflow:* tags the store writes, describing the AWSCURRENT version;
    // - "api": the same, but its tags describe the example's AWSPREVIOUS version (someone put a
    //   value by hand after certflow stored it): the store reports it broken;
    // - "legacy": AccessDeniedException ([API-COMMON]), e.g. an explicit Deny in its resource policy;
    // - anything else ("example", never stored): ResourceNotFoundException ([SDK-ERR]).
    sm.on(DescribeSecretCommand).callsFake(async (input: { SecretId?: string }) => {
      const id = String(input.SecretId);
      const tagged = (metadata: CertificateMetadata, version: string) =>
        describeSecretResponse({
          arn: secretArn(id),
          name: id,
          tags: [...metadataToTags(metadata), { Key: 'certflow:versionId', Value: version }],
          versionIdsToStages: {
            [PREVIOUS_VERSION]: ['AWSPREVIOUS'],
            [CURRENT_VERSION]: ['AWSCURRENT'],
          },
        });
      if (id === `${PREFIX}/certificate/www`) return tagged(wwwMetadata, CURRENT_VERSION);
      if (id === `${PREFIX}/certificate/api`) return tagged(apiMetadata, PREVIOUS_VERSION);
      if (id === `${PREFIX}/certificate/legacy`) throw accessDenied();
      throw resourceNotFound();
    });

    // ListCertificates, ListTagsForCertificate: the AWS CLI examples (test/fixtures/aws/acm.ts
    // [CLI-LIST], [CLI-TAGS]), plus, on the certificate certflow imported, the
    // certflow:certificate tag the ACM store sets.
    acm
      .on(ListCertificatesCommand)
      .resolves(
        listCertificatesResponse([
          certificateSummary(ACM_ARN, 'www.example.com'),
          certificateSummary(OTHER_ACM_ARN, 'www.example.net'),
        ]),
      );
    acm
      .on(ListTagsForCertificateCommand, { CertificateArn: ACM_ARN })
      .resolves(listTagsResponse([{ Key: 'certflow:certificate', Value: 'acm-cert' }]));
    acm.on(ListTagsForCertificateCommand, { CertificateArn: OTHER_ACM_ARN }).resolves(listTagsResponse([]));
    // DescribeCertificate: the AWS CLI describe-certificate example ([CLI-DESC]) as it is, an
    // ACM-issued certificate with "KeyAlgorithm": "RSA-2048" (the tests below also answer the
    // request-enum spelling RSA_2048).
    describeAs(DESCRIBED_RSA_2048);

    // ListExecutions: shape of ExecutionListItem in the Step Functions API reference
    // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ExecutionListItem.html),
    // for the execution of the developer guide's StartExecution example.
    sfn.on(ListExecutionsCommand, { stateMachineArn: STATE_MACHINE_ARN }).resolves({
      executions: [
        {
          executionArn: EXECUTION_ARN,
          stateMachineArn: STATE_MACHINE_ARN,
          name: 'MyExecution',
          status: 'FAILED',
          startDate: new Date(1486768956878),
          stopDate: new Date(1486769062000),
        },
      ],
    });
    // GetExecutionHistory (newest first): the Summarize state's TaskStateExited event
    // (HistoryEvent, StateExitedEventDetails in the API reference:
    // https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateExitedEventDetails.html)
    // with the output certflow's Summarize step writes at $.summary.
    const summary = {
      runId: '3f2a1c9e-0d4b-4a59-9a51-3c1f0f4c2b7a',
      issued: [
        {
          certificate: 'www',
          notAfter: wwwMetadata.notAfter,
          locations: [{ store: 'secretsmanager', location: secretArn(`${PREFIX}/certificate/www`) }],
        },
      ],
      failed: [
        {
          certificate: 'example',
          step: 'CreateOrder',
          error: 'DelegationError',
          message:
            '_acme-challenge.example.com has no CNAME into the delegated zone acme.example.net; add to the primary zone: _acme-challenge.example.com. CNAME example.com.acme.example.net.',
        },
      ],
      skipped: [
        {
          certificate: 'acm-cert',
          reason: 'valid until 2016-11-06T12:00:00.000Z; due 2016-07-07T04:00:00.000Z',
        },
      ],
      issuedCount: 1,
      failedCount: 1,
      skippedCount: 1,
    };
    sfn.on(GetExecutionHistoryCommand, { executionArn: EXECUTION_ARN }).resolves({
      events: [
        {
          timestamp: new Date(1486769062000),
          type: 'FailStateEntered',
          id: 88,
          previousEventId: 87,
          stateEnteredEventDetails: {
            name: 'SomeCertificatesFailed',
            input: '{}',
            inputDetails: { truncated: false },
          },
        },
        {
          timestamp: new Date(1486769061900),
          type: 'TaskStateExited',
          id: 85,
          previousEventId: 84,
          stateExitedEventDetails: {
            name: 'Summarize',
            output: JSON.stringify({ summary }),
            outputDetails: { truncated: false },
          },
        },
      ],
    });
  });
  beforeEach(() => sm.resetHistory());

  const outputs = { StateMachineArn: STATE_MACHINE_ARN, CertificateSecretNamePrefix: PREFIX };
  const run = (opts: Partial<Parameters<typeof statusCommand>[0]> = {}) =>
    capture((io) =>
      statusCommand(
        {
          config: config(),
          stackOutputs: outputsFile(outputs),
          region: 'us-east-1',
          workdir: join(dir, 'no-local-runs'),
          now: new Date('2016-06-01T00:00:00.000Z'),
          ari: false,
          ...opts,
        },
        io,
      ),
    );

  it('counts first, then what needs attention, most urgent first: the store error, the broken secret with its problem, the failed first issue; exit 1', async () => {
    const { code, lines } = await run();
    expect(lines[1]).toBe(
      '  2 ok, 0 due, 0 expired, 1 broken, 1 not issued, 1 store error; 1 failed in their last run',
    );
    expect(lines[2]).toBe(
      `  last run: aws ${EXECUTION_ARN} (2017-02-10T23:22:36.878Z) FAILED: 1 issued, 1 failed, 1 not due`,
    );
    const at = lines.indexOf('needs attention (3):');
    expect(at).toBeGreaterThan(0);
    expect(cells(lines[at + 1])).toEqual([
      'CERTIFICATE',
      'STATE',
      'DAYS',
      'NOT AFTER',
      'KEY',
      'LAST RUN',
      'ISSUER',
      'NAMES',
      'WHY',
    ]);
    const [legacy, api, example] = lines.slice(at + 2, at + 5).map(cells);
    // A store that could not be consulted: nothing is known, the cause is on the line.
    expect(legacy).toEqual([
      'legacy',
      'ERROR',
      '-',
      '-',
      'ecdsa-p256',
      '-',
      '-',
      'legacy.example.com',
      `secretsmanager: CertificateStoreError: secretsmanager: DescribeSecret for certificate "legacy" (${PREFIX}/certificate/legacy) failed: AccessDeniedException: You do not have sufficient access to perform this action.`,
    ]);
    // A secret that cannot be trusted: what the store found wrong, and that it will be re-issued.
    expect(api).toEqual([
      'api',
      'BROKEN',
      '78',
      apiMetadata.notAfter,
      'ecdsa-p256',
      '-',
      apiMetadata.issuer,
      'api.example.com',
      `stored certificate is broken (secretsmanager: the AWSCURRENT version of secret ${secretArn(`${PREFIX}/certificate/api`)} is ${CURRENT_VERSION}, but its tags describe version ${PREVIOUS_VERSION} (AWSPREVIOUS): the value was changed after certflow stored serial ${apiMetadata.serial})`,
    ]);
    expect(example).toEqual([
      'example',
      'NOT ISSUED',
      '-',
      '-',
      'ecdsa-p256',
      'failed',
      '-',
      'example.com,*.example.com',
      'not issued yet; last run failed at CreateOrder: DelegationError: _acme-challenge.example.com has no CNAME into the delegated zone acme.example.net; add to the primary zone: _acme-challenge.example.com. CNAME example.com.acme.example.net.',
    ]);
    expect(lines[lines.length - 1]).toBe('(certflow status --all lists all 5 certificates)');
    expect(code).toBe(1);
    // Each certificate secret is found by its name under the stack's prefix, and read through its
    // tags (DescribeSecret), never its value.
    expect(
      sm
        .commandCalls(DescribeSecretCommand)
        .map((c) => c.args[0].input.SecretId)
        .sort(),
    ).toEqual(['api', 'example', 'legacy', 'www'].map((n) => `${PREFIX}/certificate/${n}`));
    expect(sm).not.toHaveReceivedCommand(GetSecretValueCommand);
    // one ACM listing for all certificates, whatever their number
    expect(acm).toHaveReceivedCommandTimes(ListCertificatesCommand, 1);
  });

  it.each([
    ['as DescribeCertificate reports it', DESCRIBED_RSA_2048],
    ['in the request-enum spelling', ENUM_RSA_2048],
  ])(
    '--json: each store as read (absent, healthy, broken with its problem, error), the decision and the last run (ACM key algorithm %s)',
    async (_how, keyAlgorithm) => {
      describeAs(keyAlgorithm);
      const { out } = await run({ json: true, all: true });
      const doc = JSON.parse(out) as StatusReport;
      expect(doc.ok).toBe(false);
      expect(doc.counts).toEqual({
        total: 5,
        ok: 2,
        due: 0,
        expired: 0,
        broken: 1,
        'not-issued': 1,
        error: 1,
        lastRunFailed: 1,
        attention: 3,
      });
      const byName = Object.fromEntries(doc.certificates.map((c) => [c.name, c]));
      expect(byName.www).toMatchObject({
        state: 'ok',
        due: false,
        issuer: '(STAGING) Ersatz Edamame E1',
        notAfter: '2016-08-18T00:00:00.000Z',
        daysLeft: 78,
        reason: 'valid until 2016-08-18T00:00:00.000Z; due 2016-07-19T00:00:00.000Z',
        stores: [
          {
            store: 'secretsmanager',
            status: 'healthy',
            found: true,
            serial: wwwMetadata.serial,
            keyType: 'ecdsa-p256',
          },
        ],
        lastRun: { result: 'issued', source: 'aws', run: EXECUTION_ARN },
        attention: false,
      });
      expect(byName.api).toMatchObject({
        state: 'broken',
        due: true,
        stores: [
          {
            store: 'secretsmanager',
            status: 'broken',
            found: true,
            serial: apiMetadata.serial,
            problem: expect.stringContaining(
              `but its tags describe version ${PREVIOUS_VERSION} (AWSPREVIOUS)`,
            ),
          },
        ],
        attention: true,
      });
      expect(byName.legacy).toMatchObject({
        state: 'error',
        due: false,
        stores: [
          {
            store: 'secretsmanager',
            status: 'error',
            found: false,
            error: expect.stringContaining('AccessDeniedException'),
          },
        ],
        attention: true,
      });
      expect(byName['acm-cert']).toMatchObject({
        state: 'ok',
        keyType: 'rsa-2048',
        issuer: 'Amazon',
        notAfter: '2016-11-06T12:00:00.000Z',
        stores: [
          {
            store: 'acm',
            status: 'healthy',
            found: true,
            serial: '0facb0a38dea65522d7d013a3936dbd6',
            keyType: 'rsa-2048',
          },
        ],
        lastRun: { result: 'not due' },
      });
      expect(byName.example).toMatchObject({
        state: 'not-issued',
        stores: [{ store: 'secretsmanager', status: 'absent', found: false }],
        lastRun: { result: 'failed' },
        attention: true,
      });
    },
  );

  it('stack outputs without CertificateSecretNamePrefix: looks under the default prefix "certflow" and says so', async () => {
    const file = outputsFile({ StateMachineArn: STATE_MACHINE_ARN });
    const { lines } = await run({ stackOutputs: file });
    expect(lines).toContain(
      `  note: certificate secrets are looked up as certflow/certificate/<name>: ${file} (stack Certflow) has no CertificateSecretNamePrefix output, so the construct's default prefix "certflow" is assumed`,
    );
    expect(sm).toHaveReceivedCommandWith(DescribeSecretCommand, { SecretId: 'certflow/certificate/www' });
    // Nothing is under that prefix in this account: every secret reads as never issued.
    expect(lines[1]).toBe(
      '  1 ok, 0 due, 0 expired, 0 broken, 4 not issued, 0 store errors; 1 failed in their last run',
    );
  });

  it('without the stack outputs and with --no-aws: every AWS store is a store error, said plainly, exit 1', async () => {
    const { code, lines } = await run({ stackOutputs: undefined, aws: false });
    expect(lines[1]).toBe(
      '  0 ok, 0 due, 0 expired, 0 broken, 0 not issued, 5 store errors; 0 failed in their last run',
    );
    expect(cells(lines.find((l) => l.startsWith('www ')))).toEqual([
      'www',
      'ERROR',
      '-',
      '-',
      'ecdsa-p256',
      '-',
      '-',
      'www.example.com',
      'secretsmanager: StackLookupError: AWS lookups are off (--no-aws)',
    ]);
    expect(sm).not.toHaveReceivedCommand(DescribeSecretCommand);
    expect(code).toBe(1);
  });
});

describe('certflow plan with a Route 53 validation zone', () => {
  const cfn = mockClient(CloudFormationClient);
  const route53 = mockClient(Route53Client);
  afterAll(() => {
    cfn.restore();
    route53.restore();
  });
  beforeAll(() => {
    // GetHostedZone: the AWS SDK's example "To get information about a hosted zone"
    // (test/fixtures/aws/route53.ts [SDK-GHZ]).
    route53.on(GetHostedZoneCommand, { Id: EXAMPLE_HOSTED_ZONE_ID }).resolves(getHostedZoneResponse());
    // DescribeStacks: the AWS CLI describe-stacks example
    // (https://docs.aws.amazon.com/cli/latest/reference/cloudformation/describe-stacks.html), with
    // this stack's name and its DelegatedZoneId output.
    cfn.on(DescribeStacksCommand, { StackName: 'CertflowProd' }).resolves({
      Stacks: [
        {
          StackId:
            'arn:aws:cloudformation:us-west-2:803981987763:stack/CertflowProd/a69442d0-0b8f-11e3-8b8a-500150b352e0',
          Tags: [],
          Outputs: [
            {
              Description: 'hosted zone id of acme.example.net',
              OutputKey: 'DelegatedZoneId',
              OutputValue: 'Z3M3LMPEXAMPLE',
            },
          ],
          CreationTime: new Date('2013-08-23T01:02:15.422Z'),
          StackName: 'CertflowProd',
          StackStatus: 'CREATE_COMPLETE',
          DisableRollback: false,
        },
      ],
    });
  });

  const nsLines = [
    '2. In the parent zone example.net, delegate the validation zone acme.example.net:',
    '   acme.example.net. NS ns-2048.awsdns-64.com.',
    '   acme.example.net. NS ns-2049.awsdns-65.net.',
    '   acme.example.net. NS ns-2050.awsdns-66.org.',
    '   acme.example.net. NS ns-2051.awsdns-67.co.uk.',
  ];

  it('takes the name servers from the DelegatedZoneNameServers output of the outputs file', async () => {
    const outputs = outputsFile({
      DelegatedZoneNameServers:
        'ns-2048.awsdns-64.com, ns-2049.awsdns-65.net, ns-2050.awsdns-66.org, ns-2051.awsdns-67.co.uk',
    });
    const { code, lines } = await capture((io) =>
      planCommand({ config: config(), stackOutputs: outputs }, io),
    );
    const at = lines.indexOf(nsLines[0] as string);
    expect(lines.slice(at, at + 6)).toEqual([
      ...nsLines,
      `   ; name servers from the DelegatedZoneNameServers output of ${outputs} (stack Certflow)`,
    ]);
    expect(route53).not.toHaveReceivedCommand(GetHostedZoneCommand);
    expect(code).toBe(0);
  });

  it('asks Route 53 for the hosted zone (its id from DescribeStacks) when the outputs have no name servers', async () => {
    const { code, lines } = await capture((io) =>
      planCommand({ config: config(), stackName: 'CertflowProd', region: 'us-west-2' }, io),
    );
    const at = lines.indexOf(nsLines[0] as string);
    expect(lines.slice(at, at + 6)).toEqual([
      ...nsLines,
      '   ; name servers from Route 53 hosted zone Z3M3LMPEXAMPLE (from CloudFormation stack CertflowProd)',
    ]);
    // Let's Encrypt's directory is not reachable from the test machine: its published identifier
    expect(lines).toContain(
      '   example.com. CAA 0 issue "letsencrypt.org"   ; if example.com or a parent has CAA records (with none, every CA may issue; adding one limits issuance to the CAs listed)',
    );
    expect(code).toBe(0);
  });

  it('with --no-aws, says exactly where the name servers come from', async () => {
    const { code, lines } = await capture((io) => planCommand({ config: config(), aws: false }, io));
    expect(lines).toContain('   acme.example.net. NS <each name server of acme.example.net>.');
    expect(lines).toContain(
      '   ; the name servers are not known here: AWS lookups are off (--no-aws); after `npx cdk deploy`, they are the stack output DelegatedZoneNameServers, or `aws route53 get-hosted-zone --id <DelegatedZoneId> --query DelegationSet.NameServers`; then run certflow plan --stack-outputs <file from cdk deploy --outputs-file>',
    );
    expect(code).toBe(0);
  });
});
