/**
 * Pending TXT values in local mode: one small JSON file per value under
 * `<state>/pending/`, named by a hash of (execution, name, value). A file is created (atomic
 * rename) before the value is written to DNS and deleted after it is removed, so concurrent runs
 * never rewrite each other's entries.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorText, PendingRecordError } from '../../core/errors';
import type { PendingRecord, PendingRecordStore, TxtRecord } from '../../core/ports';
import { removeDeadWritersTempFiles, tempFileFor } from '../local-temp-files';

export class LocalPendingRecordStore implements PendingRecordStore {
  private readonly directory: string;

  constructor(options: { directory: string }) {
    this.directory = join(resolve(options.directory), 'pending');
  }

  /** The file of a value's record; the mark of an unanswered add is a file of its own. */
  private fileFor(executionId: string, fqdn: string, value: string, addUnanswered?: boolean): string {
    const digest = createHash('sha256')
      .update(`${executionId}\u0000${fqdn}\u0000${value}${addUnanswered ? '\u0000add-unanswered' : ''}`)
      .digest('hex');
    return join(this.directory, `${digest.slice(0, 32)}.json`);
  }

  async add(records: PendingRecord[]): Promise<void> {
    try {
      await fs.mkdir(this.directory, { recursive: true, mode: 0o700 });
      for (const record of records) {
        const file = this.fileFor(record.owner.executionId, record.fqdn, record.value, record.addUnanswered);
        const temp = tempFileFor(file);
        await fs.writeFile(temp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
        await fs.rename(temp, file);
      }
    } catch (error) {
      throw new PendingRecordError(
        `cannot record pending TXT values in ${this.directory}: ${errorText(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async remove(records: (TxtRecord & { executionId: string; addUnanswered?: boolean })[]): Promise<void> {
    for (const r of records) {
      try {
        await fs.rm(this.fileFor(r.executionId, r.fqdn, r.value, r.addUnanswered), { force: true });
      } catch (error) {
        throw new PendingRecordError(
          `cannot forget a pending TXT value in ${this.directory}: ${errorText(error)}`,
          {
            cause: error,
          },
        );
      }
    }
  }

  /**
   * Every pending value recorded. Temporary files of writers that are gone (a run killed between
   * writing a record and renaming it into place) are removed first: such a record was never in
   * place, so its value was never written to DNS (the record comes first).
   */
  async list(): Promise<PendingRecord[]> {
    await removeDeadWritersTempFiles(this.directory);
    let names: string[];
    try {
      names = await fs.readdir(this.directory);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return [];
      throw new PendingRecordError(
        `cannot list pending TXT values in ${this.directory}: ${errorText(error)}`,
        {
          cause: error,
        },
      );
    }
    const out: PendingRecord[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        const record = JSON.parse(await fs.readFile(join(this.directory, name), 'utf8')) as PendingRecord;
        if (
          typeof record?.fqdn === 'string' &&
          typeof record.value === 'string' &&
          record.owner?.executionId
        ) {
          out.push(record);
        }
      } catch {
        // a half-written or foreign file: not ours to act on
      }
    }
    return out;
  }
}
