import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLocal } from '../../lib/local/run-local';
import {
  certificateEventBudget,
  maxCertificatesPerExecution,
  RUN_OVERHEAD_EVENTS,
} from '../../lib/state-machine/limits';

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

  it('counts 5 events per Lambda Task and 25 + 9 x checks per certificate, as AWS records them', async () => {
    const lines: string[] = [];
    const result = await runLocal({ workdir, out: (l) => lines.push(l) });
    expect(result.exitCode).toBe(0);
    const record = result.execution;
    // one propagation check and one order check each: 25 + 9 x 2 = 43 events per certificate
    expect(record?.eventsPerCertificate).toEqual({ 'example-test': 43, 'www-example-test': 43 });
    // run: ExecutionStarted 1, SelectDue 5, SweepLeftovers 5, IssueEach 4, Summarize 5, AllIssued? 2,
    // RunSucceeded 2, ExecutionSucceeded 1
    expect(record?.historyEvents).toBe(RUN_OVERHEAD_EVENTS + 2 * 43);
    expect(RUN_OVERHEAD_EVENTS).toBe(25);
    const timing = { propagationMaxChecks: 30, orderMaxChecks: 60 }; // the demo's timing
    expect(record?.certificateEventBudget).toBe(certificateEventBudget(timing));
    expect(record?.maxCertificatesPerExecution).toBe(maxCertificatesPerExecution(timing));
    expect(lines).toContain(
      `history: ${RUN_OVERHEAD_EVENTS + 86} events (AWS-counted), at most 43 per certificate; at this timing a certificate may use up to ${certificateEventBudget(timing)}, so one execution fits ${maxCertificatesPerExecution(timing)} certificates; largest payload ${record?.largestPayload.bytes} bytes (${record?.largestPayload.state})`,
    );
  });

  it('fails the execution when its history reaches the event limit, and alerts as the EventBridge rule would', async () => {
    const lines: string[] = [];
    const result = await runLocal({
      workdir,
      force: true,
      out: (l) => lines.push(l),
      limits: { historyEvents: 30 },
    });
    expect(result.exitCode).toBe(1);
    expect(result.execution).toMatchObject({
      status: 'FAILED',
      error: 'States.Runtime: The execution reached the maximum number of history events (30).',
    });
    expect(lines.join('\n')).toContain(
      'the run failed before its summary: States.Runtime: The execution reached the maximum number of history events (30).',
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
