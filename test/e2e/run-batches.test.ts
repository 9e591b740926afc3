import 'aws-sdk-client-mock-jest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunReport, runExecutionCommand } from '../../cli/run';
import { certificatesPerBatch } from '../../lambdas/core/execution-limits';
import { type LocalRunResult, runLocal } from '../../local/run-local';
import { startTestBind, type TestBind } from '../support/bind-fixture';
import { writeExternalConfig } from '../support/external-config';
import { startTestPebble, type TestPebble } from '../support/pebble-fixture';
import { awsHistoriesFrom } from '../support/sfn-history';
import { EXECUTION_ARN, mockStepFunctions, STATE_MACHINE_ARN } from '../support/sfn-mock';

/**
 * `certflow run` on a run of two batch executions. Real runs of local mode (BIND and Pebble the
 * test starts, `--external`) with one certificate more than a batch holds at the longest timing
 * the config allows (200 + 200 checks: the smallest batch), so SelectDue makes two batches:
 * at once (`renewal.batchConcurrency: 2`) and one after the other (1). Their events become the
 * Step Functions histories of the run and of both batches (test/support/sfn-history.ts).
 */

const PROGRESS_LINE = /^ {0,5}\d+\.\ds {2}/;
const withoutElapsed = (line: string): string => line.replace(PROGRESS_LINE, '');
const progressOf = (lines: string[]): string[] =>
  lines.filter((l) => PROGRESS_LINE.test(l)).map(withoutElapsed);
/** A progress line's second column: the certificate, `run`, `batch N` or `batch N (size)`. */
const whoOf = (line: string): string => line.slice(0, 20).trim();
/** The report's block per certificate (ISSUED/FAILED/NOT DUE and their indented lines). */
const reportBlock = (lines: string[]): string[] => {
  const start = lines.findIndex((l) => /^(ISSUED|FAILED) {3}/.test(l));
  const end = lines.findIndex((l, i) => i > start && !/^(ISSUED|FAILED|NOT DUE| {2})/.test(l));
  return lines.slice(start, end);
};

const TIMING = {
  propagationIntervalSeconds: 1,
  propagationMaxChecks: 200,
  orderIntervalSeconds: 1,
  orderMaxChecks: 200,
};
const COUNT = certificatesPerBatch(TIMING) + 1;
const NAMES = Array.from({ length: COUNT }, (_, i) => `c${i + 1}`);

describe('certflow run following a run of two batch executions', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-run-batches-'));
  let bind: TestBind;
  let pebble: TestPebble;

  beforeAll(async () => {
    bind = await startTestBind({
      extraCnames: NAMES.map((n) => ({
        name: `_acme-challenge.${n}.example.test`,
        target: `${n}.example.test.acme.certflow.test`,
      })),
    });
    pebble = await startTestPebble({ dnsServer: `127.0.0.1:${bind.address.port}` });
    writeFileSync(join(workdir, 'tsig.key'), `${bind.tsig.secret}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await pebble?.stop();
    await bind?.stop();
  });

  /** A real local run of the certificates with `batchConcurrency` batches at once. */
  const localRun = async (batchConcurrency: number) => {
    const file = writeExternalConfig(join(workdir, `config-${batchConcurrency}.json`), {
      dns: bind,
      pebble,
      tsigFile: join(workdir, 'tsig.key'),
      storeDirectory: join(workdir, 'certs'),
      certificates: NAMES.map((name) => ({ name, domains: [`${name}.example.test`] })),
      timing: TIMING,
      extra: { renewal: { batchConcurrency } },
    });
    const lines: string[] = [];
    const result: LocalRunResult = await runLocal({
      workdir,
      configFile: file,
      external: true,
      force: true,
      out: (l) => lines.push(l),
    });
    expect(result.exitCode).toBe(0);
    const events = JSON.parse(readFileSync(result.historyFile, 'utf8')) as Parameters<
      typeof awsHistoriesFrom
    >[0];
    return { result, lines, file, histories: awsHistoriesFrom(events) };
  };

  const certflowRun = async (
    configFile: string,
    histories: ReturnType<typeof awsHistoriesFrom>,
    json = false,
  ) => {
    const mock = mockStepFunctions(histories);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runExecutionCommand(
      { config: configFile, stateMachineArn: STATE_MACHINE_ARN, force: true, pollIntervalMs: 1, json },
      { out: (l) => out.push(l), err: (l) => err.push(l) },
    );
    return { code, out, err, mock };
  };

  it('two batches at once: prints every certificate of both, each as local mode did, each batch before the run line for it; same report; exit 0', async () => {
    const local = await localRun(2);
    const batches = local.result.execution?.batches ?? [];
    expect(batches.map((b) => b.certificates)).toEqual([COUNT - 1, 1]);
    expect([...local.histories.batches.keys()]).toEqual(batches.map((b) => b.executionArn));

    const { code, out, mock } = await certflowRun(local.file, local.histories);
    expect(code).toBe(0);
    const progress = progressOf(out);
    const localProgress = progressOf(local.lines);
    // the same lines (polls interleave two running batches in their own way) …
    expect([...progress].sort()).toEqual([...localProgress].sort());
    // … each certificate's, each batch's and the run's in the same order as local mode's
    for (const who of new Set(localProgress.map(whoOf))) {
      expect(progress.filter((l) => whoOf(l) === who)).toEqual(localProgress.filter((l) => whoOf(l) === who));
    }
    // every certificate of both batches, through to its CertificateIssued
    for (const name of NAMES) {
      expect(progress).toContainEqual(
        expect.stringMatching(new RegExp(`^${name}\\s+CertificateIssued\\s+ok `)),
      );
    }
    // a batch's lines all come before the run's RunBatch line for it
    for (const [i, arn] of batches.map((b) => b.executionArn).entries()) {
      const batchEvents = (local.histories.batches.get(arn) ?? [])[0]?.executionStartedEventDetails?.input;
      const certificates = (
        JSON.parse(batchEvents ?? '{}') as { batch: { certificate: string }[] }
      ).batch.map((b) => b.certificate);
      const runLine = progress.findIndex((l) =>
        new RegExp(`^batch ${i + 1} \\(\\d+\\)\\s+RunBatch\\s+ok `).test(l),
      );
      expect(runLine).toBeGreaterThan(0);
      const lastOfBatch = Math.max(
        ...progress
          .map((l, at) => ({ who: whoOf(l), at }))
          .filter(({ who }) => certificates.includes(who) || who === `batch ${i + 1}`)
          .map(({ at }) => at),
      );
      expect(lastOfBatch).toBeLessThan(runLine);
      expect(progress[lastOfBatch]).toMatch(new RegExp(`^batch ${i + 1}\\s+SummarizeBatch\\s+ok `));
      // and its history was read at the ARN the run's TaskSubmitted named
      expect(mock.historyCalls().some((c) => c.executionArn === arn)).toBe(true);
    }
    expect(reportBlock(out)).toEqual(reportBlock(local.lines));
    expect(reportBlock(out).filter((l) => l.startsWith('ISSUED   '))).toHaveLength(COUNT);
    expect(out[out.length - 1]).toMatch(/^certflow run: execution SUCCEEDED after \d+\.\d s: /);
  });

  it('two batches one after the other: exactly local mode lines, in order; --json names both batch executions', async () => {
    const local = await localRun(1);
    const batches = local.result.execution?.batches ?? [];
    expect(batches).toHaveLength(2);
    const { code, out } = await certflowRun(local.file, local.histories);
    expect(code).toBe(0);
    expect(progressOf(out)).toEqual(progressOf(local.lines));
    expect(new Set(progressOf(out).map(whoOf))).toEqual(
      new Set(['run', 'batch 1', 'batch 2', `batch 1 (${COUNT - 1})`, 'batch 2 (1)', ...NAMES]),
    );

    const json = await certflowRun(local.file, local.histories, true);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.out.join('\n')) as RunReport;
    expect(doc).toMatchObject({
      ok: true,
      executionArn: EXECUTION_ARN,
      batchExecutionArns: batches.map((b) => b.executionArn),
      summary: { issuedCount: COUNT, failedCount: 0 },
    });
  });
});
