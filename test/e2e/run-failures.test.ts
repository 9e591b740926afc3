import 'aws-sdk-client-mock-jest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { HistoryTranslator } from '../../cli/history-events';
import { runExecutionCommand } from '../../cli/run';
import { type ProgressEvent, ProgressPrinter } from '../../local/progress';
import { type LocalRunResult, runLocal } from '../../local/run-local';
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
