import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalOrderBudgetStore } from '../../lambdas/adapters/order-budget/local-order-budget-store';
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
