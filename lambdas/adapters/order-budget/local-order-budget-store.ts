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
      const state = await this.read(file);
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

  /**
   * The recorded state; none yet is an empty budget. A record that is not the JSON this store
   * writes is moved aside to `<file>.damaged` (kept for the operator) and the budget starts
   * empty: the CA's own `rateLimited` answer, turned into a deferral, still bounds what is
   * placed. A file that cannot be read (EACCES, EISDIR, …) fails with its path and OS code.
   */
  private async read(file: string): Promise<OrderBudgetState> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return { orders: [] };
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as { state?: OrderBudgetState };
      if (Array.isArray(parsed.state?.orders)) return parsed.state;
    } catch {
      // not JSON: damaged, handled below
    }
    await fs.rename(file, `${file}.damaged`);
    return { orders: [] };
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
