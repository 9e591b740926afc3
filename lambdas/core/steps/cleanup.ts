import type { CertificateItem } from '../state';
import type { StepContext } from './context';

/**
 * Cleanup: remove exactly this order's TXT values (never another order's). Runs on success and
 * on every failure path; with no order (CreateOrder failed) there is nothing to remove.
 */
export async function cleanup(item: CertificateItem, ctx: StepContext): Promise<{ removed: number }> {
  const records = item.order?.records ?? [];
  if (records.length === 0) return { removed: 0 };
  await ctx.dnsProvider().removeTxtValues(records.map(({ fqdn, value }) => ({ fqdn, value })));
  ctx.logger.info('removed TXT values', { certificate: item.certificate, removed: records.length });
  return { removed: records.length };
}
