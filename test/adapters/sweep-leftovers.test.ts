import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rfc2136Provider } from '../../lambdas/adapters/dns/rfc2136/rfc2136-provider';
import { LocalPendingRecordStore } from '../../lambdas/adapters/pending/local-pending-records';
import {
  LocalRunLiveness,
  markExecutionEnded,
  processStartTime,
} from '../../lambdas/adapters/pending/local-run-liveness';
import { JsonLogger } from '../../lambdas/core/logger';
import type { PendingRecord, RunOwner } from '../../lambdas/core/ports';
import type { SweepResult } from '../../lambdas/core/state';
import { ABANDONED_AFTER_MS, sweepLeftovers } from '../../lambdas/core/steps/cleanup';
import type { StepContext } from '../../lambdas/core/steps/context';
import { startTestBind, type TestBind } from '../support/bind-fixture';

/**
 * The run-start sweep (SweepLeftovers) as local mode runs it: the real pending-record files on
 * the real filesystem, the real liveness check of local runs (processes, ended-execution
 * marks), and the values really written to and removed from BIND over RFC 2136. What a user
 * sees: which values leave the zone, which stay, and what the run and its log say.
 */
describe('the run-start sweep of values left by earlier runs', () => {
  let bind: TestBind;
  let workdir: string;
  let logLines: Record<string, unknown>[];
  const HOUR = 3600_000;
  const SWEEPER = 'arn:aws:states:us-east-1:000000000000:execution:certflow-local:local-sweeper';
  const execution = (name: string) =>
    `arn:aws:states:us-east-1:000000000000:execution:certflow-IssueBatch:local-${name}-batch-1`;
  const self = { pid: process.pid, startedAt: processStartTime(process.pid) ?? 'unknown', host: hostname() };
  const elsewhere = { pid: 4242, startedAt: '1', host: 'build-host-2.internal' };

  beforeAll(async () => {
    bind = await startTestBind();
  });
  afterAll(async () => {
    await bind?.stop();
  });
  beforeEach(() => {
    workdir = mkdtempSync(join(tmpdir(), 'certflow-sweep-'));
    logLines = [];
  });
  afterEach(async () => {
    // Whatever a test left in the zone goes, so the next starts from an empty zone.
    const left = await bind.axfrTxt();
    if (left.length > 0)
      await provider().removeTxtValues(left.map((r) => ({ fqdn: r.name, value: r.value })));
    rmSync(workdir, { recursive: true, force: true });
  });

  const state = () => join(workdir, 'state');
  const provider = () =>
    new Rfc2136Provider({ server: bind.address, zone: bind.delegatedZone, tsig: bind.tsig });
  const pending = () => new LocalPendingRecordStore({ directory: state() });
  const context = (): StepContext =>
    ({
      logger: new JsonLogger((line) => logLines.push(JSON.parse(line) as Record<string, unknown>), {
        step: 'Cleanup',
      }),
      now: () => new Date(),
      pendingRecords: pending,
      runLiveness: () => new LocalRunLiveness({ stateDirectory: state() }),
      dnsProvider: provider,
    }) as Partial<StepContext> as StepContext;

  /** What a run does when it publishes: record each value as pending, then write it. */
  const publish = async (
    owner: RunOwner,
    certificate: string,
    values: { label: string; value: string }[],
    writtenAt: Date,
  ): Promise<PendingRecord[]> => {
    const records = values.map(({ label, value }) => ({
      fqdn: `${label}.${bind.delegatedZone}`,
      value,
      certificate,
      owner,
      writtenAt: writtenAt.toISOString(),
    }));
    await pending().add(records);
    await provider().addTxtValues(records.map(({ fqdn, value }) => ({ fqdn, value })));
    return records;
  };
  const zone = async () =>
    (await bind.axfrTxt()).map((r) => `${r.name.replace(/\.$/, '')}=${r.value}`).sort();
  const pendingNow = async () =>
    (await pending().list()).map((r) => `${r.fqdn}=${r.value} (${r.owner.executionId})`).sort();
  const asZone = (records: PendingRecord[]) => records.map((r) => `${r.fqdn}=${r.value}`);
  const sweepWarnings = () => logLines.filter((l) => l.message === 'swept TXT values left by earlier runs');

  it('keeps the values of a run still going (its process is alive), counts them as still running, and removes nothing', async () => {
    const ago = new Date(Date.now() - 2 * HOUR);
    const kept = await publish(
      { executionId: execution('going'), process: self },
      'www',
      [
        { label: 'www', value: 'going-1' },
        { label: 'www', value: 'going-2' },
      ],
      ago,
    );

    const result = await sweepLeftovers({ sweep: true, executionId: SWEEPER }, context());

    expect(result).toEqual<SweepResult>({ removed: [], stillRunning: 2, undecided: 0 });
    expect(await zone()).toEqual(asZone(kept).sort());
    expect(await pendingNow()).toHaveLength(2);
    // Nothing removed and nothing undecided: the run's log has no sweep warning.
    expect(sweepWarnings()).toEqual([]);
  });

  it('a value whose add got no answer (its own record and its mark) is removed once and both records are forgotten; Cleanup of its run had forgotten only the plain one', async () => {
    const owner = { executionId: execution('late-add'), process: self };
    const [record] = await publish(owner, 'www', [{ label: 'www', value: 'late-add' }], new Date());
    if (!record) throw new Error('nothing published');
    // PublishRecords marks the value when its add got no answer; Cleanup removes the value and
    // forgets the plain record only, and the late add lands after it.
    await pending().add([{ ...record, addUnanswered: true }]);
    await pending().add([record]); // a retried PublishRecords records it again: the mark stays
    await provider().removeTxtValues([record]);
    await pending().remove([{ fqdn: record.fqdn, value: record.value, executionId: owner.executionId }]);
    expect((await pending().list()).map((r) => r.addUnanswered)).toEqual([true]);
    await provider().addTxtValues([record]); // the late UPDATE
    markExecutionEnded(state(), owner.executionId, 'SUCCEEDED');

    const result = await sweepLeftovers({ sweep: true, executionId: SWEEPER }, context());

    expect(result.removed).toEqual([
      expect.objectContaining({
        fqdn: record.fqdn,
        values: 1,
        certificate: 'www',
        executionId: owner.executionId,
      }),
    ]);
    expect(await zone()).toEqual([]);
    expect(await pending().list()).toEqual([]);
  });

  it('a run still going keeps its values however old they are: age decides only where the run cannot be checked', async () => {
    const longAgo = new Date(Date.now() - 3 * ABANDONED_AFTER_MS);
    const kept = await publish(
      { executionId: execution('long-running'), process: self },
      'apex',
      [{ label: 'apex', value: 'old-but-running' }],
      longAgo,
    );

    const result = await sweepLeftovers({ sweep: true, executionId: SWEEPER }, context());

    expect(result).toEqual<SweepResult>({ removed: [], stillRunning: 1, undecided: 0 });
    expect(await zone()).toEqual(asZone(kept));
  });

  it('leaves the values of runs it cannot check (another host, no process recorded) written less than 24 h ago, counts them undecided, and says so in the log', async () => {
    const recent = new Date(Date.now() - ABANDONED_AFTER_MS + HOUR);
    const other = await publish(
      { executionId: execution('other-host'), process: elsewhere },
      'www',
      [
        { label: 'www', value: 'other-1' },
        { label: 'www', value: 'other-2' },
      ],
      recent,
    );
    const noProcess = await publish(
      { executionId: execution('no-process') },
      'apex',
      [{ label: 'apex', value: 'anon-1' }],
      recent,
    );

    const result = await sweepLeftovers({ sweep: true, executionId: SWEEPER }, context());

    // undecided counts values (3), not runs (2)
    expect(result).toEqual<SweepResult>({ removed: [], stillRunning: 0, undecided: 3 });
    expect(await zone()).toEqual([...asZone(other), ...asZone(noProcess)].sort());
    expect(await pendingNow()).toHaveLength(3);
    expect(sweepWarnings()).toEqual([
      expect.objectContaining({ level: 'warn', removed: [], stillRunning: 0, undecided: 3 }),
    ]);
  });

  it('removes the values of a run it cannot check once they are more than 24 h old, saying why: the reason and the age', async () => {
    const old = new Date(Date.now() - ABANDONED_AFTER_MS - HOUR);
    const recent = new Date(Date.now() - HOUR);
    await publish(
      { executionId: execution('other-host-old'), process: elsewhere },
      'www',
      [
        { label: 'www', value: 'stale-1' },
        { label: 'www', value: 'stale-2' },
      ],
      old,
    );
    await publish(
      { executionId: execution('no-process-old') },
      'apex',
      [{ label: 'apex', value: 'stale-3' }],
      old,
    );
    // One of the same kind, but recent: kept, undecided.
    const young = await publish(
      { executionId: execution('other-host-young'), process: elsewhere },
      'api',
      [{ label: 'api', value: 'young' }],
      recent,
    );

    const result = await sweepLeftovers({ sweep: true, executionId: SWEEPER }, context());

    expect(result.stillRunning).toBe(0);
    expect(result.undecided).toBe(1);
    expect(result.removed).toEqual(
      expect.arrayContaining([
        {
          fqdn: `www.${bind.delegatedZone}`,
          values: 2,
          certificate: 'www',
          executionId: execution('other-host-old'),
          reason: 'its process ran on host build-host-2.internal; written more than 24 h ago',
        },
        {
          fqdn: `apex.${bind.delegatedZone}`,
          values: 1,
          certificate: 'apex',
          executionId: execution('no-process-old'),
          reason: 'no process was recorded with it; written more than 24 h ago',
        },
      ]),
    );
    expect(result.removed).toHaveLength(2);
    // Only the young value stays, in the zone and as pending.
    expect(await zone()).toEqual(asZone(young));
    expect(await pendingNow()).toEqual([
      `api.${bind.delegatedZone}=young (${execution('other-host-young')})`,
    ]);
    expect(sweepWarnings()).toEqual([expect.objectContaining({ undecided: 1, removed: result.removed })]);
  });

  it('in one sweep: removes an ended run’s values, keeps a running one’s and an undecided one’s, and never touches its own', async () => {
    const now = new Date();
    markExecutionEnded(state(), execution('ended'), 'SUCCEEDED');
    await publish(
      { executionId: execution('ended'), process: self },
      'www',
      [{ label: 'www', value: 'ended' }],
      now,
    );
    const running = await publish(
      { executionId: execution('running'), process: self },
      'apex',
      [{ label: 'apex', value: 'running' }],
      now,
    );
    const undecided = await publish(
      { executionId: execution('elsewhere'), process: elsewhere },
      'api',
      [{ label: 'api', value: 'elsewhere' }],
      now,
    );
    const own = await publish(
      { executionId: SWEEPER, process: self },
      'own',
      [{ label: 'own', value: 'own' }],
      now,
    );

    const result = await sweepLeftovers({ sweep: true, executionId: SWEEPER }, context());

    expect(result).toEqual<SweepResult>({
      removed: [
        {
          fqdn: `www.${bind.delegatedZone}`,
          values: 1,
          certificate: 'www',
          executionId: execution('ended'),
          reason: 'its execution ended SUCCEEDED',
        },
      ],
      stillRunning: 1,
      undecided: 1,
    });
    expect(await zone()).toEqual([...asZone(running), ...asZone(undecided), ...asZone(own)].sort());
    expect(await pendingNow()).toHaveLength(3);
  });
});
