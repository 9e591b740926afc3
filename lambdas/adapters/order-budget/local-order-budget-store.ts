/**
 * New-order budgets in local mode: one JSON file per ACME directory under
 * `<state>/order-budget/`, changed under an exclusive lock file so two runs at once never lose
 * each other's reservations.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorText, OrderBudgetError } from '../../core/errors';
import type { OrderBudgetStore } from '../../core/ports';
import type { OrderBudgetState } from '../../core/renewal/order-budget';

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

export class LocalOrderBudgetStore implements OrderBudgetStore {
  private readonly directory: string;

  constructor(options: { directory: string }) {
    this.directory = join(resolve(options.directory), 'order-budget');
  }

  private fileFor(key: string): string {
    return join(this.directory, `${createHash('sha256').update(key).digest('hex').slice(0, 16)}.json`);
  }

  async update<T>(
    key: string,
    change: (state: OrderBudgetState) => { state: OrderBudgetState; result: T },
  ): Promise<T> {
    const file = this.fileFor(key);
    const lock = `${file}.lock`;
    try {
      await fs.mkdir(this.directory, { recursive: true, mode: 0o700 });
      await this.acquire(lock);
    } catch (error) {
      throw new OrderBudgetError(`cannot lock the new-order budget ${lock}: ${errorText(error)}`, {
        cause: error,
      });
    }
    try {
      let state: OrderBudgetState = { orders: [] };
      try {
        const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as { state?: OrderBudgetState };
        if (Array.isArray(parsed.state?.orders)) state = parsed.state;
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOENT') {
          // A damaged record is replaced: the budget errs on the side of the limit only going forward.
        }
      }
      const { state: next, result } = change(state);
      const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await fs.writeFile(temp, `${JSON.stringify({ key, state: next })}\n`, { mode: 0o600 });
      await fs.rename(temp, file);
      return result;
    } catch (error) {
      throw new OrderBudgetError(`cannot update the new-order budget ${file}: ${errorText(error)}`, {
        cause: error,
      });
    } finally {
      await fs.rm(lock, { force: true }).catch(() => undefined);
    }
  }

  private async acquire(lock: string): Promise<void> {
    const started = Date.now();
    for (;;) {
      try {
        const handle = await fs.open(lock, 'wx', 0o600);
        await handle.close();
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'EEXIST') throw error;
        const stat = await fs.stat(lock).catch(() => undefined);
        if (stat && Date.now() - stat.mtimeMs > LOCK_STALE_MS) await fs.rm(lock, { force: true });
        if (Date.now() - started > LOCK_WAIT_MS) throw new Error(`${lock} is held by another run`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}
