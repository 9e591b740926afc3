import type { PendingRecord } from '../ports';
import type { CertificateItem } from '../state';
import { required, runOwner, type StepContext } from './context';

/**
 * PublishRecords (RFC 8555 §8.4): add this order's TXT values in the delegated zone, keeping any
 * other value at the same name (apex and wildcard share one; other orders may be running). Each
 * value is first recorded as pending with its owner (the execution), so that if the run dies
 * before Cleanup, a later run finds and removes it.
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
  const changeTokens = await ctx
    .dnsProvider()
    .addTxtValues(order.records.map(({ fqdn, value }) => ({ fqdn, value })));
  ctx.logger.info('published TXT values', {
    certificate: item.certificate,
    names: [...new Set(order.records.map((r) => r.fqdn))],
  });
  return { changeTokens, publishedAt: writtenAt };
}
