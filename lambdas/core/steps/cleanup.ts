import type { PendingRecord, RunStatus, TxtRecord } from '../ports';
import { type CertificateItem, PAYLOAD_BOUNDS, type SweepInput, type SweepResult } from '../state';
import { runOwner, type StepContext } from './context';

/**
 * Cleanup: remove exactly this order's TXT values (never another order's), then forget them as
 * pending. Runs on success and on every failure path; with no order (CreateOrder failed) there
 * is nothing to remove. Removal is idempotent, so a retry after a partial failure is safe. The
 * mark of an add that got no answer (`addUnanswered`) is not forgotten here: that add may still
 * reach the server after this removal, so a later run's sweep removes the value again.
 */
export async function cleanup(item: CertificateItem, ctx: StepContext): Promise<{ removed: number }> {
  const records = item.order?.records ?? [];
  if (records.length === 0) return { removed: 0 };
  const values: TxtRecord[] = records.map(({ fqdn, value }) => ({ fqdn, value }));
  await ctx.dnsProvider().removeTxtValues(values);
  const { executionId } = runOwner(item, ctx);
  await ctx.pendingRecords().remove(values.map((v) => ({ ...v, executionId })));
  ctx.logger.info('removed TXT values', { certificate: item.certificate, removed: records.length });
  return { removed: records.length };
}

/** The Cleanup function's job: this order's values (a certificate item), or the run-start sweep. */
export function cleanupOrSweep(
  input: CertificateItem | SweepInput,
  ctx: StepContext,
): Promise<{ removed: number } | SweepResult> {
  return 'sweep' in input ? sweepLeftovers(input, ctx) : cleanup(input, ctx);
}

/** Count values by name, for reports (`name (n values)`). */
export function countByName(records: readonly TxtRecord[]): { fqdn: string; values: number }[] {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.fqdn, (counts.get(r.fqdn) ?? 0) + 1);
  return [...counts].map(([fqdn, values]) => ({ fqdn, values }));
}

/** A value whose owner cannot be checked is treated as abandoned after this long (a run's timeout is 6 h). */
export const ABANDONED_AFTER_MS = 24 * 3600 * 1000;

/**
 * The run-start sweep: every pending value whose run is over (its process is gone or its local
 * execution record says it ended; its execution is no longer RUNNING; by age,
 * {@link ABANDONED_AFTER_MS}, only where neither can be known) is removed from the zone and
 * forgotten, and reported with why its run counts as over. Values of runs still going, and
 * of runs whose state cannot be told yet, are left alone and counted.
 * The sweeping execution's own values (none yet) are never touched.
 */
export async function sweepLeftovers(input: SweepInput, ctx: StepContext): Promise<SweepResult> {
  const pending = await ctx.pendingRecords().list();
  const byOwner = new Map<string, PendingRecord[]>();
  for (const record of pending) {
    if (record.owner.executionId === input.executionId && record.owner.executionId !== input.alsoOver)
      continue;
    const list = byOwner.get(record.owner.executionId) ?? [];
    list.push(record);
    byOwner.set(record.owner.executionId, list);
  }
  const result: SweepResult = { removed: [], stillRunning: 0, undecided: 0 };
  for (const [executionId, records] of byOwner) {
    const status: RunStatus =
      executionId === input.alsoOver
        ? { state: 'over', reason: 'its run was interrupted' }
        : await ctx.runLiveness().stateOf(records[0].owner);
    let { state, reason } = status;
    // By age only where the owner's state cannot be known.
    const newest = Math.max(...records.map((r) => Date.parse(r.writtenAt) || 0));
    if (state === 'unknown' && ctx.now().getTime() - newest > ABANDONED_AFTER_MS) {
      state = 'over';
      reason = `${reason}; written more than ${ABANDONED_AFTER_MS / 3600_000} h ago`;
    }
    if (state === 'running') {
      result.stillRunning += records.length;
      continue;
    }
    if (state === 'unknown') {
      result.undecided += records.length;
      continue;
    }
    // A value may have two records: its own and the mark of an add that got no answer.
    const unique = new Map<string, PendingRecord>();
    for (const r of records) unique.set(`${r.fqdn}\u0000${r.value}`, r);
    const values = [...unique.values()].map(({ fqdn, value }) => ({ fqdn, value }));
    await ctx.dnsProvider().removeTxtValues(values);
    await ctx
      .pendingRecords()
      .remove(records.map(({ fqdn, value, addUnanswered }) => ({ fqdn, value, executionId, addUnanswered })));
    const certificates = new Map<string, PendingRecord[]>();
    for (const r of unique.values())
      certificates.set(r.certificate, [...(certificates.get(r.certificate) ?? []), r]);
    for (const [certificate, own] of certificates) {
      for (const { fqdn, values: n } of countByName(own)) {
        result.removed.push({ fqdn, values: n, certificate, executionId, reason });
      }
    }
  }
  if (result.removed.length > 0 || result.undecided > 0) {
    ctx.logger.warn('swept TXT values left by earlier runs', { ...result });
  }
  // The run carries the first removals and the count (the log line above has them all).
  if (result.removed.length > PAYLOAD_BOUNDS.sweptListed) {
    return {
      ...result,
      removedCount: result.removed.length,
      removed: result.removed.slice(0, PAYLOAD_BOUNDS.sweptListed),
    };
  }
  return result;
}
