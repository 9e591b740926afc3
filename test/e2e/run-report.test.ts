import { readFileSync } from 'node:fs';
import { runExecutionCommand } from '../../cli/run';
import { type DnsProxy, RCODE, startDnsProxy } from '../support/dns-proxy';
import {
  type FaultServers,
  type InProcessRun,
  runInProcess,
  startFaultServers,
  writeConfig,
} from '../support/fault-harness';
import { awsHistoriesFrom } from '../support/sfn-history';
import { mockStepFunctions, STATE_MACHINE_ARN } from '../support/sfn-mock';

/**
 * `certflow run`'s end report has local mode's details, which only the batch executions hold:
 * a failure's whole message (RecordFailure's output; the run summary carries it cut to its
 * payload bound) and every value a failed Cleanup left (RecordValuesLeft's output; the summary
 * names only the first). A real local run against BIND behind a proxy that takes the first
 * UPDATE and refuses the rest (test/support/dns-proxy.ts), so `multi` is issued and its values'
 * removal is refused, and `broken`, whose four names have no delegation CNAME, fails with a
 * message of four lines.
 */

const PROGRESS_LINE = /^ {0,5}\d+\.\ds {2}/;
const withoutElapsed = (line: string): string => line.replace(PROGRESS_LINE, '');
/** The report: its counts line, then the blocks per certificate. */
const reportOf = (lines: string[]): string[] => {
  const start = lines.findIndex((l) => /^\d+ issued, \d+ failed/.test(l));
  const end = lines.findIndex((l, i) => i > start && !/^(ISSUED|FAILED|NOT DUE|DEFERRED|SWEPT| {2})/.test(l));
  return lines.slice(start, end < 0 ? undefined : end);
};

describe('certflow run reports what the batch executions recorded, whole', () => {
  let s: FaultServers;
  let proxy: DnsProxy;
  let local: InProcessRun;
  let configFile: string;

  beforeAll(async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-run-report-' });
    proxy = await startDnsProxy({
      upstream: s.bind.address,
      updatePolicy: (n) => (n === 1 ? 'forward' : { rcode: RCODE.REFUSED }),
      signWith: s.bind.tsig,
    });
    configFile = writeConfig(s, 'refusing', {
      certificates: [
        { name: 'multi', domains: ['example.test', '*.example.test', 'www.example.test'] },
        {
          name: 'broken',
          domains: ['m1.example.test', 'm2.example.test', 'm3.example.test', 'm4.example.test'],
        },
      ],
      updateServer: `127.0.0.1:${proxy.address.port}`,
      // one certificate at a time: multi's publication is the one UPDATE forwarded
      maxConcurrency: 1,
    });
    local = await runInProcess(s, configFile, { force: true });
  });
  afterAll(async () => {
    await proxy?.close();
    await s?.stop();
  });

  it('prints the failure message and the values left whole, as local mode did; exit 1', async () => {
    expect(local.result.exitCode).toBe(1);
    // what the run summary alone says: the message cut, one value of two named
    const summary = local.result.summary;
    expect(summary?.failed[0]?.message).toMatch(/\.\.\.$/);
    expect(summary?.warnings[0]?.left).toHaveLength(1);

    const events = JSON.parse(readFileSync(local.result.historyFile, 'utf8')) as Parameters<
      typeof awsHistoriesFrom
    >[0];
    mockStepFunctions(awsHistoriesFrom(events));
    const out: string[] = [];
    const code = await runExecutionCommand(
      { config: configFile, stateMachineArn: STATE_MACHINE_ARN, force: true, pollIntervalMs: 1 },
      { out: (l) => out.push(l), err: (l) => out.push(l) },
    );
    expect(code).toBe(1);
    expect(out.filter((l) => PROGRESS_LINE.test(l)).map(withoutElapsed)).toEqual(
      local.lines.filter((l) => PROGRESS_LINE.test(l)).map(withoutElapsed),
    );
    const report = reportOf(out);
    expect(report).toEqual(reportOf(local.lines));
    // the whole message: one line per name
    const failed = report.indexOf('FAILED   broken at CreateOrder: DelegationError');
    expect(report.slice(failed + 1, failed + 5)).toEqual(
      ['m1', 'm2', 'm3', 'm4'].map(
        (m) =>
          `  _acme-challenge.${m}.example.test has no CNAME into the delegated zone acme.certflow.test; add to the primary zone: _acme-challenge.${m}.example.test. CNAME ${m}.example.test.acme.certflow.test.`,
      ),
    );
    // every value left, both names
    const warning = report.find((l) => l.startsWith('  WARNING:  cleanup failed (DnsUpdateError: '));
    expect(warning).toMatch(
      /TXT values may remain: (www\.example\.test\.acme\.certflow\.test \(1 value\), example\.test\.acme\.certflow\.test \(2 values\)|example\.test\.acme\.certflow\.test \(2 values\), www\.example\.test\.acme\.certflow\.test \(1 value\)); /,
    );
    expect(out[out.length - 1]).toMatch(/^certflow run: execution FAILED after \d+\.\d s: /);
  });
});

describe('certflow run when every certificate was issued but a Cleanup was refused', () => {
  let s: FaultServers;
  let proxy: DnsProxy;

  afterAll(async () => {
    await proxy?.close();
    await s?.stop();
  });

  it('exits 3, as local mode does: issued, but TXT values may remain', async () => {
    s = await startFaultServers({ workdirPrefix: 'certflow-run-exit3-' });
    proxy = await startDnsProxy({
      upstream: s.bind.address,
      updatePolicy: (n) => (n === 1 ? 'forward' : { rcode: RCODE.REFUSED }),
      signWith: s.bind.tsig,
    });
    const configFile = writeConfig(s, 'refusing-cleanup', {
      certificates: [{ name: 'multi', domains: ['example.test', '*.example.test'] }],
      updateServer: `127.0.0.1:${proxy.address.port}`,
    });
    const local = await runInProcess(s, configFile, { force: true });
    expect(local.result.exitCode).toBe(3);
    const events = JSON.parse(readFileSync(local.result.historyFile, 'utf8')) as Parameters<
      typeof awsHistoriesFrom
    >[0];
    mockStepFunctions(awsHistoriesFrom(events));
    const out: string[] = [];
    const code = await runExecutionCommand(
      { config: configFile, stateMachineArn: STATE_MACHINE_ARN, force: true, pollIntervalMs: 1 },
      { out: (l) => out.push(l), err: (l) => out.push(l) },
    );
    expect(code).toBe(3);
    expect(reportOf(out)).toEqual(reportOf(local.lines));
    expect(out.some((l) => l.startsWith('  WARNING:  cleanup failed (DnsUpdateError: '))).toBe(true);
  });
});
