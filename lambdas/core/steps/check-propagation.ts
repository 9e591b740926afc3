import { checkTxtPropagation } from '../dns/propagation';
import { PropagationTimeoutError } from '../errors';
import { METRIC } from '../metrics';
import { hasChangeStatus } from '../ports';
import type { CertificateItem } from '../state';
import { required, type StepContext } from './context';

/**
 * CheckPropagation: ready when the provider reports every change applied (Route 53 INSYNC) and
 * every authoritative server of the delegated zone answers every expected value. Called before
 * any wait, so a record that is already visible costs no wait. After `propagationMaxChecks`
 * checks it throws {@link PropagationTimeoutError} naming what is still missing. When ready, it
 * records PropagationSeconds: from PublishRecords (`publication.publishedAt`) to now.
 */
export async function checkPropagation(
  item: CertificateItem,
  ctx: StepContext,
): Promise<{ ready: boolean; checks: number; waitingFor?: string[] }> {
  const order = required(item.order, 'order', 'CreateOrder');
  const checks = (item.propagation?.checks ?? 0) + 1;
  const max = item.timing?.propagationMaxChecks ?? ctx.config.timing.propagationMaxChecks;
  let waitingFor: string[] = [];
  const provider = ctx.dnsProvider();
  const tokens = item.publication?.changeTokens ?? [];
  if (hasChangeStatus(provider) && tokens.length > 0) {
    const applied = await Promise.all(tokens.map((t) => provider.isChangeApplied(t)));
    waitingFor = tokens
      .filter((_, i) => !applied[i])
      .map((t) => `${provider.name} change ${t} to be applied`);
  }
  if (waitingFor.length === 0 && order.records.length > 0) {
    const result = await checkTxtPropagation(
      order.records.map(({ fqdn, value }) => ({ fqdn, value })),
      await ctx.authoritativeServers(),
      ctx.dnsClient(),
    );
    waitingFor = result.ready ? [] : result.missing;
  }
  const ready = waitingFor.length === 0;
  const publishedAt = Date.parse(item.publication?.publishedAt ?? '');
  if (ready && Number.isFinite(publishedAt)) {
    ctx.metrics.add(
      METRIC.propagationTime,
      'Seconds',
      Math.max(0, (ctx.now().getTime() - publishedAt) / 1000),
    );
  }
  if (!ready && checks >= max) {
    throw new PropagationTimeoutError(
      `TXT values not visible at every authoritative server after ${checks} checks: ${waitingFor.slice(0, 5).join('; ')}`,
    );
  }
  ctx.logger.info(ready ? 'records visible everywhere' : 'records not visible yet', {
    certificate: item.certificate,
    checks,
    waitingFor,
  });
  return ready ? { ready, checks } : { ready, checks, waitingFor: waitingFor.slice(0, 10) };
}
