import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BATCH_OVERHEAD_EVENTS,
  certificateEventBudget,
  certificatesPerBatch,
  RUN_EVENTS_PER_BATCH,
  RUN_OVERHEAD_EVENTS,
} from '../../lib/state-machine/limits';
import { runLocal } from '../../local/run-local';

/**
 * Step Functions' per-execution limits, enforced on a local run as AWS enforces them: the
 * history events counted as AWS counts them, and the 256 KiB payload limit. The limits are
 * lowered here so a two-certificate demo run reaches them; the rules are AWS's.
 */
describe('local runs count and limit like Step Functions', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-limits-'));
  const alerts = () =>
    readFileSync(join(workdir, 'state', 'alerts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('counts 5 events per Lambda Task and 25 + 9 x checks per certificate, as AWS records them, per execution', async () => {
    const lines: string[] = [];
    const result = await runLocal({ workdir, out: (l) => lines.push(l) });
    expect(result.exitCode).toBe(0);
    const record = result.execution;
    // one propagation check and one order check each: 25 + 9 x 2 = 43 events per certificate
    expect(record?.eventsPerCertificate).toEqual({ 'example-test': 43, 'www-example-test': 43 });
    // the run: ExecutionStarted 1, SelectDue 5, SweepLeftovers 5, IssueBatches 4, Summarize 5,
    // AllIssued? 2, RunSucceeded 2, ExecutionSucceeded 1 = 25; and per batch its Map iteration (2)
    // and RunBatch (startExecution.sync: 6, TaskSubmitted included)
    expect(RUN_OVERHEAD_EVENTS).toBe(25);
    expect(record?.historyEvents).toBe(RUN_OVERHEAD_EVENTS + RUN_EVENTS_PER_BATCH);
    // the batch's own history: ExecutionStarted 1, IssueEach 4, SummarizeBatch 5, ExecutionSucceeded 1
    expect(BATCH_OVERHEAD_EVENTS).toBe(11);
    expect(record?.batches).toEqual([
      expect.objectContaining({
        status: 'SUCCEEDED',
        certificates: 2,
        historyEvents: BATCH_OVERHEAD_EVENTS + 2 * 43,
      }),
    ]);
    const timing = { propagationMaxChecks: 30, orderMaxChecks: 60 }; // the demo's timing
    expect(record?.certificateEventBudget).toBe(certificateEventBudget(timing));
    expect(record?.certificatesPerBatch).toBe(certificatesPerBatch(timing));
    expect(lines).toContain(
      `history: run ${RUN_OVERHEAD_EVENTS + RUN_EVENTS_PER_BATCH} events, 1 batch execution(s) of at most ${BATCH_OVERHEAD_EVENTS + 86} events (AWS-counted), at most 43 per certificate; at this timing a certificate may use up to ${certificateEventBudget(timing)}, so a batch holds ${certificatesPerBatch(timing)} certificates; largest payload ${record?.largestPayload.bytes} bytes`,
    );
  });

  it('a batch whose history reaches the event limit fails alone: the run reports its certificates, the next run sweeps their values', async () => {
    const lines: string[] = [];
    const result = await runLocal({
      workdir,
      force: true,
      out: (l) => lines.push(l),
      limits: { historyEvents: 40 },
    });
    expect(result.exitCode).toBe(1);
    // the run itself finished (37 events, BatchFailed's Lambda Task included: within the limit of
    // 40), ending as a run with failed certificates does; the batch (97 events at full length) did not
    expect(result.execution?.historyEvents).toBe(37);
    expect(result.execution?.error).toMatch(/^CertificatesFailed: /);
    expect(result.execution?.batches).toEqual([expect.objectContaining({ status: 'FAILED' })]);
    expect(result.summary?.failed.map((f) => [f.certificate, f.step, f.error])).toEqual([
      ['example-test', 'IssueBatch', 'States.TaskFailed'],
      ['www-example-test', 'IssueBatch', 'States.TaskFailed'],
    ]);
    expect(result.summary?.failed[0]?.message).toMatch(
      /^the batch's execution ended FAILED: States\.Runtime: The execution reached the maximum number of history events \(40\)\. \(local: not stored by this run\)$/,
    );
    // the batch died with values published: they stay owned, and the next run removes them
    const next = await runLocal({ workdir, force: true, out: () => undefined });
    expect(next.exitCode).toBe(0);
    expect(next.summary?.swept.length).toBeGreaterThan(0);
  });

  it('a batch that dies after its certificates were stored: they are reported issued (read from the stores), not failed', async () => {
    // 97 events at full length; at 92 the batch dies after both certificates were stored
    // (during Cleanup or SummarizeBatch), so its summary never reaches the run.
    const lines: string[] = [];
    const result = await runLocal({
      workdir,
      force: true,
      out: (l) => lines.push(l),
      limits: { historyEvents: 92 },
    });
    expect(result.execution?.batches).toEqual([expect.objectContaining({ status: 'FAILED' })]);
    expect(result.summary?.failed).toEqual([]);
    expect(result.summary?.issued.map((i) => i.certificate).sort()).toEqual([
      'example-test',
      'www-example-test',
    ]);
    for (const i of result.summary?.issued ?? []) expect(Date.parse(i.notAfter)).toBeGreaterThan(Date.now());
    expect(result.exitCode).not.toBe(1);
    // values the dead batch could not remove are removed by the next run's sweep
    const next = await runLocal({ workdir, out: () => undefined });
    expect(next.exitCode).toBe(0);
  });

  it('fails the run when its own history reaches the event limit, and alerts as the EventBridge rule would', async () => {
    const lines: string[] = [];
    const result = await runLocal({
      workdir,
      force: true,
      out: (l) => lines.push(l),
      limits: { historyEvents: 25 },
    });
    expect(result.exitCode).toBe(1);
    expect(result.execution).toMatchObject({
      status: 'FAILED',
      error: 'States.Runtime: The execution reached the maximum number of history events (25).',
    });
    expect(lines.join('\n')).toContain(
      'the run failed before its summary: States.Runtime: The execution reached the maximum number of history events (25).',
    );
    expect(alerts().pop()).toMatchObject({
      type: 'execution-ended',
      status: 'FAILED',
      error: 'States.Runtime',
    });
  });

  it('fails the execution with States.DataLimitExceeded when a state output exceeds the payload limit (no Catch sees it)', async () => {
    const lines: string[] = [];
    const result = await runLocal({
      workdir,
      force: true,
      out: (l) => lines.push(l),
      limits: { payloadBytes: 1024 },
    });
    expect(result.exitCode).toBe(1);
    expect(result.execution?.status).toBe('FAILED');
    expect(result.execution?.error).toMatch(
      /^States\.DataLimitExceeded: The state\/task '\w+' (input|output|returned a result that) has a size \(\d+ bytes\) exceeding the maximum number of bytes service limit \(1024\)\.$/,
    );
    // terminal: the run-level Catch (States.ALL) never ran, the EventBridge rule's alert did
    expect(alerts().pop()).toMatchObject({
      type: 'execution-ended',
      status: 'FAILED',
      error: 'States.DataLimitExceeded',
    });
  });
});
