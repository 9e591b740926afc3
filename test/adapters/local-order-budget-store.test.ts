import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalOrderBudgetStore } from '../../lambdas/adapters/order-budget/local-order-budget-store';
import { processStartTime } from '../../lambdas/adapters/pending/local-run-liveness';
import { OrderBudgetError } from '../../lambdas/core/errors';
import { reserveNewOrders } from '../../lambdas/core/renewal/order-budget';

/**
 * The local new-order budget on the real filesystem: reservations survive between runs, a
 * damaged record is kept aside for the operator (not silently overwritten), and a record that
 * cannot be read fails with its path and OS code instead of resetting the budget.
 */
describe('LocalOrderBudgetStore', () => {
  const DIRECTORY = 'https://127.0.0.1:14000/dir';
  const LIMIT = { orders: 3, windowSeconds: 3600 };
  const now = new Date('2026-12-01T10:00:00.000Z');
  let work: string;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'certflow-budget-store-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const store = () => new LocalOrderBudgetStore({ directory: work });
  const reserve = (wanted: number) =>
    store().update(DIRECTORY, (state) => {
      const r = reserveNewOrders(state, wanted, now, LIMIT);
      return { state: r.state, result: r.granted };
    });
  const budgetDir = () => join(work, 'order-budget');
  const recordFile = () => {
    const file = readdirSync(budgetDir()).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('no budget record written');
    return join(budgetDir(), file);
  };

  it('keeps reservations across store instances (runs): 2 then 2 of a budget of 3 grants 2 then 1', async () => {
    expect(await reserve(2)).toBe(2);
    expect(await reserve(2)).toBe(1);
    expect(readdirSync(budgetDir()).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });

  /** The lock of the budget record, once a first reservation made the record. */
  const lockFile = async () => {
    await reserve(1);
    return `${recordFile()}.lock`;
  };
  const deadPid = () =>
    Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
        .stdout,
    );

  it('writes its owner (pid, start time, host) in the lock while it holds it', async () => {
    const lock = await lockFile();
    let seen: unknown;
    await store().update(DIRECTORY, (state) => {
      seen = JSON.parse(readFileSync(lock, 'utf8'));
      return { state, result: undefined };
    });
    expect(seen).toEqual({
      pid: process.pid,
      startedAt: processStartTime(process.pid),
      host: hostname(),
      takenAt: expect.any(String),
    });
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over at once a lock whose owner process is gone', async () => {
    const lock = await lockFile();
    writeFileSync(lock, JSON.stringify({ pid: deadPid(), startedAt: '1', host: hostname() }));
    const started = Date.now();
    expect(await reserve(1)).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(existsSync(lock)).toBe(false);
  });

  it("waits for a live owner's lock and then fails naming the lock and its owner", async () => {
    const lock = await lockFile();
    writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, startedAt: processStartTime(process.pid), host: hostname() }),
    );
    const error = await reserve(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrderBudgetError);
    expect((error as Error).message).toBe(
      `cannot lock the new-order budget ${lock}: ${lock} is held by process ${process.pid} on ${hostname()}`,
    );
    expect(existsSync(lock)).toBe(true);
  }, 20_000);

  it('removes temporary files of writers that are gone, and keeps a live writer’s', async () => {
    await reserve(1);
    const dead = `${recordFile()}.${deadPid()}-1.0a1b2c3d.tmp`;
    const alive = `${recordFile()}.${process.pid}-${processStartTime(process.pid)}.0a1b2c3d.tmp`;
    writeFileSync(dead, '{');
    writeFileSync(alive, '{');
    await reserve(1);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(alive)).toBe(true);
  });

  it('moves a damaged record aside to <file>.damaged and starts the budget from it empty', async () => {
    await reserve(3);
    const file = recordFile();
    writeFileSync(file, '{"key": "https://127.0.0.1:14000/dir", "state": {"ord');

    expect(await reserve(2)).toBe(2);
    expect(readFileSync(`${file}.damaged`, 'utf8')).toContain('"state": {"ord');
    expect(JSON.parse(readFileSync(file, 'utf8')).state.orders).toHaveLength(2);
  });

  it('fails with the path and the OS code when the record cannot be read, and leaves it as it was', async () => {
    await reserve(1);
    const file = recordFile();
    rmSync(file);
    mkdirSync(file); // a directory where the record should be: EISDIR on read

    const error = await reserve(1).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OrderBudgetError);
    expect((error as Error).message).toContain(`cannot update the new-order budget ${file}`);
    expect((error as Error).message).toContain('EISDIR');
    expect(existsSync(`${file}.damaged`)).toBe(false);
  });
});
