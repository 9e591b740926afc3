import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LocalRunLiveness,
  markExecutionEnded,
  processStartTime,
} from '../../lambdas/adapters/pending/local-run-liveness';

/**
 * Whether the local run that wrote a TXT value is over, asked of real processes and of local
 * mode's ended-execution marks: a later run may remove the values of a run that is over, never of one
 * still going.
 */
describe('LocalRunLiveness', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'certflow-liveness-'));
  const state = join(workdir, 'state');
  const ARN = 'arn:aws:states:us-east-1:000000000000:execution:certflow-local:local-2026-01-01T00-00-00-000Z';
  const self = { pid: process.pid, startedAt: processStartTime(process.pid) ?? 'unknown', host: hostname() };
  const liveness = new LocalRunLiveness({ stateDirectory: state });

  it('an execution of a live process with no ended record is running', async () => {
    expect(await liveness.stateOf({ executionId: ARN, process: self })).toEqual({
      state: 'running',
      reason: `its process ${process.pid} is running it`,
    });
  });

  it('an execution whose record says it ended is over, though its process (this one) still runs', async () => {
    // what local/run-local.ts records when the execution is over
    markExecutionEnded(state, ARN, 'FAILED');
    expect(await liveness.stateOf({ executionId: ARN, process: self })).toEqual({
      state: 'over',
      reason: 'its execution ended FAILED',
    });
    // another execution of the same process is still running
    expect((await liveness.stateOf({ executionId: `${ARN}-other`, process: self })).state).toBe('running');
  });

  it('an execution whose process is gone is over', async () => {
    const child = spawn('sleep', ['30']);
    const pid = child.pid as number;
    const owner = {
      executionId: `${ARN}-killed`,
      process: { pid, startedAt: processStartTime(pid) ?? '?', host: hostname() },
    };
    expect((await liveness.stateOf(owner)).state).toBe('running');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await liveness.stateOf(owner)).toEqual({ state: 'over', reason: `its process ${pid} is gone` });
  });

  it('an execution whose process exited but was never reaped (a zombie, as under an init that does not reap) is over', async () => {
    // `sleep 0` exits at once; its parent execs into `sleep 5` and never waits for it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5']);
    const pid = await new Promise<number>((resolve) =>
      parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))),
    );
    let state = '';
    for (let i = 0; i < 50 && state !== 'Z'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
    }
    expect(state).toBe('Z');
    const owner = {
      executionId: `${ARN}-zombie`,
      process: { pid, startedAt: processStartTime(pid) ?? '?', host: hostname() },
    };
    expect(await liveness.stateOf(owner)).toEqual({ state: 'over', reason: `its process ${pid} is gone` });
    parent.kill('SIGKILL');
  });

  it('a pid that now belongs to another process is over; another host cannot be told', async () => {
    expect(
      await liveness.stateOf({
        executionId: ARN.replace('000Z', '001Z'),
        process: { ...self, startedAt: '1' },
      }),
    ).toEqual({
      state: 'over',
      reason: `its process ${process.pid} is gone (the pid is another process now)`,
    });
    expect(
      (
        await liveness.stateOf({
          executionId: `${ARN}-elsewhere`,
          process: { ...self, host: `${self.host}-elsewhere` },
        })
      ).state,
    ).toBe('unknown');
  });
});
