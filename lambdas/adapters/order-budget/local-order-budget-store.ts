/**
 * New-order budgets in local mode: one JSON file per ACME directory under
 * `<state>/order-budget/`, changed under an exclusive lock file so two runs at once never lose
 * each other's reservations. The lock names its owner (pid, process start time, host): a lock
 * whose owner is gone (a run killed while it held it) is taken over at once; one whose owner
 * cannot be checked (another host, or no owner written) only once it is 30 s old.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorText, OrderBudgetError } from '../../core/errors';
import type { OrderBudgetStore } from '../../core/ports';
import type { OrderBudgetState } from '../../core/renewal/order-budget';
import { removeDeadWritersTempFiles, tempFileFor } from '../local-temp-files';
import { ownerGone, type ProcessOwner, thisProcess } from '../pending/local-run-liveness';

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
      // Under the lock: what a writer killed before its rename left.
      await removeDeadWritersTempFiles(this.directory);
      const state = await this.read(file);
      const { state: next, result } = change(state);
      const temp = tempFileFor(file);
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
    const owner = `${JSON.stringify({ ...thisProcess(), takenAt: new Date().toISOString() })}\n`;
    for (;;) {
      try {
        const handle = await fs.open(lock, 'wx', 0o600);
        try {
          await handle.writeFile(owner);
        } finally {
          await handle.close();
        }
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'EEXIST') throw error;
        const holder = await lockHolder(lock);
        if (holder && (await takeOver(lock, holder))) continue;
        if (Date.now() - started > LOCK_WAIT_MS) {
          throw new Error(`${lock} is held by ${holder?.describe ?? 'another run'}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/** Who holds a lock, and whether it may be taken over. */
interface LockHolder {
  /** The lock file's content when read (a takeover checks it is still the same). */
  text: string;
  /** The owner is gone, or (no owner that can be checked) the lock is older than {@link LOCK_STALE_MS}. */
  abandoned: boolean;
  describe: string;
}

async function lockHolder(lock: string): Promise<LockHolder | undefined> {
  let text: string;
  let mtimeMs: number;
  try {
    text = await fs.readFile(lock, 'utf8');
    mtimeMs = (await fs.stat(lock)).mtimeMs;
  } catch {
    return undefined; // released meanwhile
  }
  const stale = Date.now() - mtimeMs > LOCK_STALE_MS;
  let owner: ProcessOwner | undefined;
  try {
    const parsed = JSON.parse(text) as Partial<ProcessOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string')
      owner = { pid: parsed.pid, host: parsed.host, startedAt: String(parsed.startedAt ?? 'unknown') };
  } catch {
    // no owner written (yet, or by an older certflow): only its age tells
  }
  if (!owner) return { text, abandoned: stale, describe: 'a run that did not record itself' };
  const gone = ownerGone(owner);
  const describe = `process ${owner.pid} on ${owner.host}`;
  return { text, abandoned: gone === true || (gone === undefined && stale), describe };
}

/**
 * Remove an abandoned lock, unless another run replaced it meanwhile: the lock is moved aside
 * (an atomic rename, so of two runs taking it over one wins) and checked; a lock that turns out
 * to be another live run's is put back.
 */
async function takeOver(lock: string, holder: LockHolder): Promise<boolean> {
  if (!holder.abandoned) return false;
  const aside = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}.abandoned`;
  try {
    await fs.rename(lock, aside);
  } catch {
    return true; // gone already: try to take it
  }
  const moved = await fs.readFile(aside, 'utf8').catch(() => '');
  if (moved !== holder.text) await fs.link(aside, lock).catch(() => undefined);
  await fs.rm(aside, { force: true });
  return true;
}
