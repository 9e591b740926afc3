import { DnsUpdateUnavailableError } from '../errors';
import type { PendingRecord } from '../ports';
import type { CertificateItem } from '../state';
import { required, runOwner, type StepContext } from './context';

/**
 * PublishRecords (RFC 8555 §8.4): add this order's TXT values in the delegated zone, keeping any
 * other value at the same name (apex and wildcard share one; other orders may be running). Each
 * value is first recorded as pending with its owner (the execution), so that if the run dies
 * before Cleanup, a later run finds and removes it. An add that was sent and got no answer
 * (`DnsUpdateUnavailableError.unanswered`) may still be applied later, after Cleanup: its values
 * are marked (`addUnanswered`), Cleanup leaves the mark, and a later run's sweep removes them.
 */
export async function publishRecords(
  item: CertificateItem,
  ctx: StepContext,
): Promise<{ changeTokens: string[]; publishedAt: string }> {
  const order = required(item.order, 'order', 'CreateOrder');
  if (order.records.length === 0) return { changeTokens: [], publishedAt: ctx.now().toISOString() };
  const owner = runOwner(item, ctx);
  const writtenAt = ctx.now().toISOString();
  const pending: PendingRecord[] = order.records.map(({ fqdn, value }) => ({
    fqdn,
    value,
    certificate: item.certificate,
    owner,
    writtenAt,
  }));
  await ctx.pendingRecords().add(pending);
  let changeTokens: string[];
  try {
    changeTokens = await ctx
      .dnsProvider()
      .addTxtValues(order.records.map(({ fqdn, value }) => ({ fqdn, value })));
  } catch (error) {
    // Sent and unanswered: the server may apply the add at any time, even after Cleanup. Mark
    // the values so that Cleanup keeps them recorded and a later run's sweep removes them.
    if (error instanceof DnsUpdateUnavailableError && error.unanswered) {
      await ctx.pendingRecords().add(pending.map((p) => ({ ...p, addUnanswered: true as const })));
      ctx.logger.warn('an add got no answer: its values stay recorded until a later run removes them', {
        certificate: item.certificate,
        values: pending.length,
      });
    }
    throw error;
  }
  ctx.logger.info('published TXT values', {
    certificate: item.certificate,
    names: [...new Set(order.records.map((r) => r.fqdn))],
  });
  return { changeTokens, publishedAt: writtenAt };
}
