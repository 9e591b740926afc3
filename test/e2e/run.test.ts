import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetExecutionHistoryCommand, type HistoryEvent, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunReport, runExecutionCommand } from '../../cli/run';
import { type ProgressEvent, ProgressPrinter } from '../../local/progress';
import { type LocalRunResult, runLocal } from '../../local/run-local';
import { accessDenied } from '../fixtures/aws/step-functions';
import { expectNoSecret, localSecrets } from '../support/local-secrets';
import { type AwsHistories, awsHistoriesFrom } from '../support/sfn-history';
import { EXECUTION_ARN, mockStepFunctions, STATE_MACHINE_ARN } from '../support/sfn-mock';

/**
 * `certflow run` at the SDK boundary. The executions it follows are real ones: a local run with
 * the bundled Pebble and BIND (the run's execution and its batch execution), whose events are
 * turned into the histories Step Functions records (test/support/sfn-history.ts). `run` must
 * print what local mode printed for that run, certificates included.
 */

const PROGRESS_LINE = /^ {0,5}\d+\.\ds {2}/;
/** A progress line without its first column (seconds since the start). */
const withoutElapsed = (line: string): string => line.replace(PROGRESS_LINE, '');

describe('certflow run, following a real run recorded as Step Functions history', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-run-'));
  const localLines: string[] = [];
  let local: LocalRunResult;
  let localEvents: (ProgressEvent & { execution?: string; input?: unknown })[];
  let histories: AwsHistories;
  let history: HistoryEvent[];
  let batchArn: string;
  let configFile: string;
  let outputsFile: string;
  const printed: string[] = [];

  beforeAll(async () => {
    local = await runLocal({ workdir, force: true, out: (l) => localLines.push(l) });
    expect(local.exitCode).toBe(0);
    localEvents = JSON.parse(readFileSync(local.historyFile, 'utf8')) as typeof localEvents;
    histories = awsHistoriesFrom(localEvents);
    history = histories.run;
    // the demo's two certificates are one batch: one child execution
    expect(local.execution?.batches.map((b) => b.executionArn)).toEqual([...histories.batches.keys()]);
    batchArn = [...histories.batches.keys()][0] as string;
    configFile = join(local.runDirectory, 'config.json');
    // `cdk deploy --outputs-file` writes {"<stack>": {"<OutputKey>": "<OutputValue>", ...}}:
    // https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-deploy.html (--outputs-file)
    outputsFile = join(workdir, 'outputs.json');
    writeFileSync(outputsFile, JSON.stringify({ Certflow: { StateMachineArn: STATE_MACHINE_ARN } }));
  });

  const run = async (opts: Partial<Parameters<typeof runExecutionCommand>[0]> = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runExecutionCommand(
      { config: configFile, stackOutputs: outputsFile, pollIntervalMs: 1, ...opts },
      { out: (l) => out.push(l), err: (l) => err.push(l) },
    );
    printed.push(...out, ...err);
    return { code, out, err };
  };

  it("prints the same line per state as local mode did (the batch's certificates too), the same report, and exits 0", async () => {
    const mock = mockStepFunctions(histories);
    const { code, out } = await run({ force: true, certificate: ['example-test', 'www-example-test'] });
    expect(code).toBe(0);
    expect(mock.sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      input: JSON.stringify({ certificates: ['example-test', 'www-example-test'], force: true }),
    });

    const runProgress = out.filter((l) => PROGRESS_LINE.test(l));
    const localProgress = localLines.filter((l) => PROGRESS_LINE.test(l));
    expect(runProgress.length).toBeGreaterThan(20);
    // every column but the elapsed seconds, which local mode counts from before the execution starts
    expect(runProgress.map(withoutElapsed)).toEqual(localProgress.map(withoutElapsed));
    expect(runProgress.map(withoutElapsed)).toContainEqual(
      expect.stringMatching(/^www-example-test\s+FinalizeAndStore\s+ok\s+\d+ ms {2}serial /),
    );
    expect(runProgress.map(withoutElapsed)).toContainEqual(
      expect.stringMatching(/^batch 1\s+SummarizeBatch\s+ok\s+\d+ ms {2}2 issued, 0 failed$/),
    );
    // and, elapsed included, what local mode's printers print for the same events and start
    // (the run's printer, and the batch's: printer.forBatch(certificates, 'batch 1'))
    const replay: string[] = [];
    const printer = new ProgressPrinter((l) => replay.push(l), history[0]?.timestamp?.getTime());
    const batchPrinter = printer.forBatch(['example-test', 'www-example-test'], 'batch 1');
    for (const e of localEvents) (e.execution === batchArn ? batchPrinter : printer).handle(e);
    expect([...runProgress].sort()).toEqual(replay.sort());
    // the batch's history was read, at the ARN the run's TaskSubmitted named
    expect(mock.historyCalls().some((c) => c.executionArn === batchArn)).toBe(true);

    // the end report: the same block per certificate as local mode printed
    const block = (lines: string[]) => {
      const start = lines.findIndex((l) => l.startsWith('ISSUED   ') || l.startsWith('FAILED   '));
      const end = lines.findIndex((l, i) => i > start && !/^(ISSUED|FAILED|NOT DUE| {2})/.test(l));
      return lines.slice(start, end);
    };
    expect(block(out)).toEqual(block(localLines));
    expect(block(out)).toContain('ISSUED   www-example-test');
    expect(out[out.length - 1]).toMatch(/^certflow run: execution SUCCEEDED after \d+\.\d s: /);
  });

  it('follows each history with newest-first pages until the last event it has seen, and prints each state once', async () => {
    const mock = mockStepFunctions(histories, { growth: 10, pageSize: 4 });
    const { code, out } = await run({ force: true });
    expect(code).toBe(0);
    const calls = mock.historyCalls();
    expect(calls.every((c) => c.reverseOrder === true)).toBe(true);
    expect(new Set(calls.map((c) => c.executionArn))).toEqual(new Set([EXECUTION_ARN, batchArn]));
    expect(calls.some((c) => c.nextToken !== undefined)).toBe(true);
    // 10 more events per poll: each execution was polled while running
    const polls = (arn: string) => calls.filter((c) => c.nextToken === undefined && c.executionArn === arn);
    expect(polls(EXECUTION_ARN).length).toBeGreaterThanOrEqual(Math.ceil(history.length / 10));
    // and the batch until its end, not after
    const batchHistory = histories.batches.get(batchArn) ?? [];
    expect(polls(batchArn).length).toBe(Math.ceil(batchHistory.length / 10));
    const progress = out.filter((l) => PROGRESS_LINE.test(l)).map(withoutElapsed);
    expect(progress).toEqual(localLines.filter((l) => PROGRESS_LINE.test(l)).map(withoutElapsed));
  });

  it('finds the state machine in the stack outputs with CloudFormation DescribeStacks when no outputs file is given', async () => {
    const cfn = mockClient(CloudFormationClient);
    // DescribeStacks response from the AWS CLI reference example
    // (https://docs.aws.amazon.com/cli/latest/reference/cloudformation/describe-stacks.html, aws-cli
    // awscli/examples/cloudformation/describe-stacks.rst), with the stack's own name and outputs.
    cfn.on(DescribeStacksCommand, { StackName: 'Certflow' }).resolves({
      Stacks: [
        {
          StackId:
            'arn:aws:cloudformation:us-east-1:123456789012:stack/Certflow/a69442d0-0b8f-11e3-8b8a-500150b352e0',
          Description: 'certflow: ACME DNS-01 certificate issuance and renewal with CNAME delegation',
          Tags: [],
          Outputs: [
            {
              Description: 'certflow renewal state machine',
              OutputKey: 'StateMachineArn',
              OutputValue: STATE_MACHINE_ARN,
            },
          ],
          CreationTime: new Date('2013-08-23T01:02:15.422Z'),
          Capabilities: [],
          StackName: 'Certflow',
          StackStatus: 'CREATE_COMPLETE',
          DisableRollback: false,
        },
      ],
    });
    const mock = mockStepFunctions(histories);
    const { code, out } = await run({
      stackOutputs: undefined,
      certificate: ['www-example-test'],
      force: true,
    });
    expect(code).toBe(0);
    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'Certflow' });
    expect(mock.sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      input: '{"certificates":["www-example-test"],"force":true}',
    });
    expect(out[0]).toBe(
      `certflow run: started ${EXECUTION_ARN} with {"certificates":["www-example-test"],"force":true}`,
    );
    cfn.restore();
  });

  it('--dry-run starts the execution with {"dryRun": true} (SelectDue then orders from the test CA)', async () => {
    const mock = mockStepFunctions(histories);
    await run({ dryRun: true, force: true });
    expect(mock.sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      input: '{"force":true,"dryRun":true}',
    });
  });

  it('--json: one JSON document on stdout (status, summary), the progress on stderr', async () => {
    mockStepFunctions(histories);
    const { code, out, err } = await run({ json: true });
    expect(code).toBe(0);
    const doc = JSON.parse(out.join('\n')) as RunReport;
    expect(doc).toMatchObject({
      ok: true,
      stateMachineArn: STATE_MACHINE_ARN,
      executionArn: EXECUTION_ARN,
      batchExecutionArns: [batchArn],
      status: 'SUCCEEDED',
      input: {},
      summary: { issuedCount: 2, failedCount: 0, skippedCount: 0 },
    });
    expect(err.filter((l) => PROGRESS_LINE.test(l)).length).toBeGreaterThan(20);
  });

  it("names the issuer of a certificate stored only in AWS, from the batch's FinalizeAndStore output", async () => {
    const raw = JSON.parse(readFileSync(configFile, 'utf8')) as { certificates: { stores?: string[] }[] };
    for (const c of raw.certificates) c.stores = ['secretsmanager'];
    const awsConfig = join(workdir, 'aws-stores.json');
    writeFileSync(awsConfig, JSON.stringify(raw));
    mockStepFunctions(histories);
    const { code, out } = await run({ config: awsConfig, force: true });
    expect(code).toBe(0);
    const issuer = (lines: string[], name: string) =>
      lines.slice(lines.indexOf(`ISSUED   ${name}`)).find((l) => l.startsWith('  issuer:   '));
    for (const name of ['example-test', 'www-example-test']) {
      expect(issuer(out, name)).toMatch(/^ {2}issuer: {3}Pebble Intermediate CA [0-9a-f]+$/);
      expect(issuer(out, name)).toBe(issuer(localLines, name));
    }
    expect(out).toContain('  store:    secretsmanager');
  });

  it('without permission to read the batch executions: the run lines so far, then the error naming the batch execution; exit 1', async () => {
    const mock = mockStepFunctions(histories);
    mock.sfn.on(GetExecutionHistoryCommand, { executionArn: batchArn }).rejects(accessDenied());
    const { code, out, err } = await run({ force: true });
    expect(code).toBe(1);
    expect(out.filter((l) => PROGRESS_LINE.test(l)).map(withoutElapsed)).toEqual(
      localLines
        .filter((l) => PROGRESS_LINE.test(l))
        .map(withoutElapsed)
        .filter((l) => /^run\s+(SelectDue|SweepLeftovers) /.test(l)),
    );
    expect(err).toEqual([
      `certflow: ExecutionFollowError: GetExecutionHistory for ${batchArn} failed: AccessDeniedException: You do not have sufficient access to perform this action.`,
    ]);
  });

  it('refuses an unknown certificate name before starting anything: exit 2', async () => {
    const mock = mockStepFunctions(histories);
    const { code, err } = await run({ certificate: ['nope'] });
    expect(code).toBe(2);
    expect(err).toEqual([
      'certflow: UsageError: unknown certificate nope; configured: example-test, www-example-test',
    ]);
    expect(mock.sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(mock.sfn).not.toHaveReceivedCommand(GetExecutionHistoryCommand);
  });

  it('refuses something that is not a state machine ARN: exit 2', async () => {
    mockStepFunctions(histories);
    const { code, err } = await run({ stateMachineArn: 'arn:aws:lambda:us-east-1:123456789012:function:x' });
    expect(code).toBe(2);
    expect(err[0]).toContain('is not a Step Functions state machine ARN');
  });

  it('Ctrl-C stops following, says the execution goes on, exit 130', async () => {
    mockStepFunctions(histories, { growth: 5 });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    const { code, out } = await run({ signal: stop.signal, pollIntervalMs: 60_000 });
    expect(code).toBe(130);
    expect(out[out.length - 1]).toMatch(
      new RegExp(
        `^certflow run: stopped following after \\d+\\.\\d s; the execution goes on: ${EXECUTION_ARN}$`,
      ),
    );
  });

  it('prints no private key and no account key', () => {
    expect(printed.length).toBeGreaterThan(100);
    expectNoSecret(printed.join('\n'), localSecrets(workdir));
  });
});
