import 'aws-sdk-client-mock-jest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { HistoryTranslator } from '../../cli/history-events';
import { runExecutionCommand } from '../../cli/run';
import { runStateBytesBound } from '../../lambdas/core/execution-limits';
import type { RunSummary } from '../../lambdas/core/ports';
import { type BatchFailure, PAYLOAD_BOUNDS } from '../../lambdas/core/state';
import { payloadBytes } from '../../local/history-budget';
import { type ProgressEvent, ProgressPrinter } from '../../local/progress';
import { type LocalRunResult, runLocal } from '../../local/run-local';
import { alerts } from '../support/fault-harness';
import { expectNoSecret, localSecrets } from '../support/local-secrets';
import { awsHistoriesFrom } from '../support/sfn-history';
import { mockStepFunctions, STATE_MACHINE_ARN } from '../support/sfn-mock';

const PROGRESS_LINE = /^ {0,5}\d+\.\ds {2}/;
const withoutElapsed = (line: string): string => line.replace(PROGRESS_LINE, '');

/** What local mode's printer prints for `events`, counting from `start`. */
function printed(events: ProgressEvent[], start: number): string[] {
  const lines: string[] = [];
  const printer = new ProgressPrinter((l) => lines.push(l), start);
  for (const e of events) printer.handle(e);
  return lines;
}

/** What `certflow run` prints for the Step Functions history of the same execution. */
function printedFromHistory(events: ProgressEvent[], start: number): string[] {
  const lines: string[] = [];
  const printer = new ProgressPrinter((l) => lines.push(l), start);
  const translator = new HistoryTranslator();
  for (const h of awsHistoriesFrom(events).run) for (const e of translator.translate(h)) printer.handle(e);
  return lines;
}

describe('certflow run when certificates fail', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-run-fail-'));
  const localLines: string[] = [];
  let local: LocalRunResult;
  let configFile: string;

  beforeAll(async () => {
    // one certificate whose _acme-challenge CNAME the bundled primary zone does not have
    const userConfig = join(workdir, 'user.json');
    writeFileSync(
      userConfig,
      JSON.stringify({
        certificates: [
          { name: 'www-example-test', domains: ['www.example.test'] },
          { name: 'broken', domains: ['missing.example.test'] },
        ],
      }),
    );
    local = await runLocal({ workdir, configFile: userConfig, force: true, out: (l) => localLines.push(l) });
    configFile = join(local.runDirectory, 'config.json');
  });

  it('prints the failed certificate as local mode did (the failing step, caught, cleaned up), the FAILED block, exit 1', async () => {
    expect(local.exitCode).toBe(1);
    const events = JSON.parse(readFileSync(local.historyFile, 'utf8')) as ProgressEvent[];
    const mock = mockStepFunctions(awsHistoriesFrom(events));
    const out: string[] = [];
    const code = await runExecutionCommand(
      { config: configFile, stateMachineArn: STATE_MACHINE_ARN, pollIntervalMs: 1 },
      { out: (l) => out.push(l), err: (l) => out.push(l) },
    );
    expect(code).toBe(1);
    expect(mock.historyCalls().length).toBeGreaterThan(1);
    const progress = out.filter((l) => PROGRESS_LINE.test(l)).map(withoutElapsed);
    expect(progress).toEqual(localLines.filter((l) => PROGRESS_LINE.test(l)).map(withoutElapsed));
    expect(progress.some((l) => /^broken\s+CreateOrder\s+failed\s+\d+ ms {2}DelegationError: /.test(l))).toBe(
      true,
    );
    expect(progress.some((l) => /^broken\s+CleanupAfterFailure\s+ok/.test(l))).toBe(true);
    expect(
      progress.some((l) => /^run\s+SomeCertificatesFailed\s+failed\s+\d+ ms {2}CertificatesFailed: /.test(l)),
    ).toBe(true);
    const failedAt = out.indexOf('FAILED   broken at CreateOrder: DelegationError');
    expect(failedAt).toBeGreaterThan(0);
    expect(out[failedAt + 1]).toBe(
      '  _acme-challenge.missing.example.test has no CNAME into the delegated zone acme.certflow.test; add to the primary zone: _acme-challenge.missing.example.test. CNAME missing.example.test.acme.certflow.test.',
    );
    expect(localLines).toContain(out[failedAt + 1]);
    expect(out).toContain('ISSUED   www-example-test');
    expect(out[out.length - 1]).toMatch(/^certflow run: execution FAILED after \d+\.\d s: /);
    expectNoSecret(out.join('\n'), localSecrets(workdir));
  });

  it('a batch that fails as a whole (its history reaches the event limit): its certificates as far as they got, RunBatch failed, BatchFailed, the FAILED blocks, exit 1', async () => {
    const batchWorkdir = mkdtempSync(join(tmpdir(), 'certflow-run-batch-fail-'));
    const lines: string[] = [];
    // the batch's history is cut at 35 events; the run's own (34) stays within the limit
    const failed = await runLocal({
      workdir: batchWorkdir,
      force: true,
      out: (l) => lines.push(l),
      limits: { historyEvents: 35 },
    });
    expect(failed.exitCode).toBe(1);
    expect(failed.execution?.batches).toEqual([expect.objectContaining({ status: 'FAILED' })]);
    const events = JSON.parse(readFileSync(failed.historyFile, 'utf8')) as Parameters<
      typeof awsHistoriesFrom
    >[0];
    const histories = awsHistoriesFrom(events);
    const [batchArn] = histories.batches.keys();
    // the batch's history ends as AWS ends it at the limit
    expect(histories.batches.get(batchArn as string)?.at(-1)).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: {
        error: 'States.Runtime',
        cause: 'The execution reached the maximum number of history events (35).',
      },
    });
    const mock = mockStepFunctions(histories, { growth: 5 });
    const out: string[] = [];
    const code = await runExecutionCommand(
      {
        config: join(failed.runDirectory, 'config.json'),
        stateMachineArn: STATE_MACHINE_ARN,
        pollIntervalMs: 1,
      },
      { out: (l) => out.push(l), err: (l) => out.push(l) },
    );
    expect(code).toBe(1);
    expect(mock.historyCalls().some((c) => c.executionArn === batchArn)).toBe(true);
    const progress = out.filter((l) => PROGRESS_LINE.test(l)).map(withoutElapsed);
    expect(progress).toEqual(lines.filter((l) => PROGRESS_LINE.test(l)).map(withoutElapsed));
    // the batch's certificates got somewhere before it was cut
    expect(progress.some((l) => /^(www-)?example-test\s+CreateOrder\s+ok /.test(l))).toBe(true);
    const runBatch = progress.findIndex((l) =>
      /^batch 1 \(2\)\s+RunBatch\s+failed\s+\d+ ms {2}States\.TaskFailed: \{"ExecutionArn":"/.test(l),
    );
    expect(runBatch).toBeGreaterThan(0);
    expect(progress[runBatch + 1]).toMatch(/^batch 1 \(2\)\s+BatchFailed\s+ok /);
    const block = (all: string[]) =>
      all.filter((l) => l.startsWith('FAILED   ') || l.startsWith('  the batch'));
    expect(block(out)).toEqual(block(lines));
    expect(block(out)).toEqual([
      'FAILED   example-test at IssueBatch: States.TaskFailed',
      "  the batch's execution ended FAILED: States.Runtime: The execution reached the maximum number of history events (35). (local: not stored by this run)",
      'FAILED   www-example-test at IssueBatch: States.TaskFailed',
      "  the batch's execution ended FAILED: States.Runtime: The execution reached the maximum number of history events (35). (local: not stored by this run)",
    ]);
    expect(out[out.length - 1]).toMatch(/^certflow run: execution FAILED after \d+\.\d s: /);
  });

  it("a batch that fails as a whole with a ~200 KB cause: the run's state keeps at most the bounded error (UTF-8 bytes of its JSON), the alert still says why, and the run ends FAILED at SomeCertificatesFailed", async () => {
    const batchWorkdir = mkdtempSync(join(tmpdir(), 'certflow-run-batch-cause-'));
    const lines: string[] = [];
    // each batch execution ends FAILED with a ~200 KB cause (its error first, then the bulk)
    const bulk = `${'ü'.repeat(50_000)}${'x'.repeat(100_000)}`;
    const failed = await runLocal({
      workdir: batchWorkdir,
      force: true,
      out: (l) => lines.push(l),
      batchDefinition: {
        StartAt: 'Explode',
        States: { Explode: { Type: 'Fail', Error: 'BatchExploded', Cause: `the batch blew up: ${bulk}` } },
      },
    });
    expect(failed.exitCode).toBe(1);
    expect(failed.execution).toMatchObject({
      status: 'FAILED',
      error: expect.stringContaining('CertificatesFailed'),
    });
    const events = JSON.parse(readFileSync(failed.historyFile, 'utf8')) as {
      type: string;
      execution: string;
      state?: { name: string; input?: unknown; output?: unknown };
      Cause?: unknown;
    }[];
    const run = events.filter((e) => e.execution === failed.execution?.executionArn);
    // RunBatch's Catch saw the whole cause (the child's DescribeExecution, input included) ...
    const runBatchFailed = run.find((e) => e.type === 'StateFailed' && e.state?.name === 'RunBatch');
    expect(Buffer.byteLength(String(runBatchFailed?.Cause), 'utf8')).toBeGreaterThan(200_000);
    // ... BatchFailed kept the bounded error only ...
    const batchFailedOut = run.find((e) => e.type === 'StateExited' && e.state?.name === 'BatchFailed')?.state
      ?.output as BatchFailure;
    expect(batchFailedOut).toMatchObject({
      batchFailed: true,
      certificates: ['example-test', 'www-example-test'],
    });
    expect(payloadBytes(batchFailedOut.error)).toBeLessThanOrEqual(PAYLOAD_BOUNDS.batchErrorBytes);
    // ... so the run's state after the batches (Summarize's input) is within the bound the
    // deployment check computes from the names, as AWS measures it (UTF-8 bytes of its JSON)
    const afterBatches = run.find((e) => e.type === 'StateExited' && e.state?.name === 'IssueBatches')?.state
      ?.output;
    const bound = runStateBytesBound(['example-test', 'www-example-test'], {
      propagationMaxChecks: 60,
      orderMaxChecks: 60,
    });
    expect(payloadBytes(afterBatches)).toBeLessThanOrEqual(bound);
    // (measured: about 2 KB here, of which the batch's error is at most 1,000 bytes)
    expect(payloadBytes(afterBatches)).toBeLessThan(4_000);
    const summarizeIn = run.find((e) => e.type === 'StateEntered' && e.state?.name === 'Summarize')?.state
      ?.input;
    expect(payloadBytes(summarizeIn)).toBeLessThanOrEqual(bound);
    // the report and the summary alert still say why the batch failed
    const block = lines.filter((l) => l.startsWith('FAILED   ') || l.startsWith('  the batch'));
    expect(block).toHaveLength(4);
    expect(block[0]).toBe('FAILED   example-test at IssueBatch: States.TaskFailed');
    expect(block[1]).toMatch(
      // (the summary cuts each message to PAYLOAD_BOUNDS.messageChars)
      /^ {2}the batch's execution ended FAILED: BatchExploded: the batch blew up: ü+\.\.\.$/,
    );
    const summary = alerts(batchWorkdir).find((a) => a.type === 'run-summary') as unknown as RunSummary;
    expect(summary.failed.map((f) => [f.certificate, f.step, f.error])).toEqual([
      ['example-test', 'IssueBatch', 'States.TaskFailed'],
      ['www-example-test', 'IssueBatch', 'States.TaskFailed'],
    ]);
    expect(summary.failed[0]?.message).toMatch(
      /^the batch's execution ended FAILED: BatchExploded: the batch blew up: ü/,
    );
    expect(
      lines.some((l) =>
        /^run\s+SomeCertificatesFailed\s+failed\s+\d+ ms {2}CertificatesFailed: /.test(withoutElapsed(l)),
      ),
    ).toBe(true);
  });

  it('prints retries and caught failures inside a Map, and a Fail state, the way local mode does', async () => {
    class DnsQueryError extends Error {
      override name = 'DnsQueryError';
    }
    class DelegationError extends Error {
      override name = 'DelegationError';
    }
    const definition = {
      StartAt: 'IssueEach',
      States: {
        IssueEach: {
          Type: 'Map',
          ItemsPath: '$.selection.due',
          MaxConcurrency: 1,
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'CreateOrder',
            States: {
              CreateOrder: {
                Type: 'Task',
                Resource: 'arn:aws:lambda:us-east-1:123456789012:function:certflow-CreateOrder',
                Retry: [{ ErrorEquals: ['DnsQueryError'], IntervalSeconds: 1, MaxAttempts: 2 }],
                Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'CreateOrderFailed' }],
                End: true,
              },
              CreateOrderFailed: { Type: 'Pass', End: true },
            },
          },
          ResultPath: '$.results',
          Next: 'SomeCertificatesFailed',
        },
        SomeCertificatesFailed: {
          Type: 'Fail',
          Error: 'CertificatesFailed',
          Cause: 'One or more certificates failed',
        },
      },
    };
    let attempts = 0;
    const machine = new StateMachine(definition as ConstructorParameters<typeof StateMachine>[0]);
    const execution = machine.run(
      { selection: { due: [{ certificate: 'flaky' }, { certificate: 'broken' }] } },
      {
        overrides: {
          retryIntervalOverrides: { CreateOrder: 0 },
          taskResourceLocalHandlers: {
            CreateOrder: async (input) => {
              const item = input as { certificate: string };
              if (item.certificate === 'broken') throw new DelegationError('no CNAME');
              attempts++;
              if (attempts === 1) throw new DnsQueryError('SERVFAIL from 127.0.0.1:53');
              return { certificate: item.certificate, ok: true };
            },
          },
        },
      },
    );
    const events: ProgressEvent[] = [];
    const consume = (async () => {
      for await (const e of execution.eventLogs) events.push(e);
    })();
    await execution.result.catch(() => undefined);
    await consume;
    const start = events[0]?.timestamp ?? 0;

    const expected = printed(events, start);
    // (the duration column, and the padding before it, replaced by "_ ms")
    expect(expected.map(withoutElapsed).map((l) => l.replace(/\s+\d+ ms/, ' _ ms'))).toEqual([
      '#0                   CreateOrder            failed _ ms  DnsQueryError: SERVFAIL from 127.0.0.1:53',
      '#0                   CreateOrder            retrying _ ms',
      '#0                   CreateOrder            ok _ ms',
      '#1                   CreateOrder            failed _ ms  DelegationError: no CNAME',
      '#1                   CreateOrderFailed      ok _ ms',
      'run                  IssueEach              ok _ ms',
      'run                  SomeCertificatesFailed failed _ ms  CertificatesFailed: One or more certificates failed',
    ]);
    expect(printedFromHistory(events, start)).toEqual(expected);
  });
});
