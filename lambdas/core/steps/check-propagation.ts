import { checkTxtPropagation } from '../dns/propagation';
import { errorText, PropagationTimeoutError } from '../errors';
import { METRIC } from '../metrics';
import { hasChangeStatus } from '../ports';
import { type CertificateItem, clip } from '../state';
import { required, type StepContext } from './context';

/**
 * CheckPropagation: ready when the provider reports every change applied (Route 53 INSYNC) and
 * every authoritative server of the delegated zone answers every expected value. Called before
 * any wait, so a record that is already visible costs no wait. After `propagationMaxChecks`
 * checks it throws {@link PropagationTimeoutError} naming what is still missing. When ready, it
 * records PropagationSeconds: from PublishRecords (`publication.publishedAt`) to now.
 *
 * A name server that fails (SERVFAIL, REFUSED, no answer), or servers that cannot be found,
 * count as "not ready" until the check limit, never as an error that ends the wait early. Server
 * addresses of a family this host cannot use (IPv6 on a Lambda function outside a VPC) are left
 * out, and the output says which (`leftOut`).
 */
export async function checkPropagation(
  item: CertificateItem,
  ctx: StepContext,
): Promise<{ ready: boolean; checks: number; waitingFor?: string[]; leftOut?: string[] }> {
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
  let leftOut: string[] = [];
  if (waitingFor.length === 0 && order.records.length > 0) {
    let servers: Awaited<ReturnType<StepContext['authoritativeServers']>> | undefined;
    try {
      servers = await ctx.authoritativeServers();
    } catch (error) {
      waitingFor = [`the authoritative servers of ${ctx.config.delegation.zone}: ${errorText(error)}`];
    }
    if (servers !== undefined) {
      const result = await checkTxtPropagation(
        order.records.map(({ fqdn, value }) => ({ fqdn, value })),
        servers,
        ctx.dnsClient(),
      );
      waitingFor = result.ready ? [] : result.missing;
      leftOut = result.leftOut;
    }
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
  const leftOutNote =
    leftOut.length > 0 ? ` (left out, unreachable from this host: ${leftOut.slice(0, 4).join('; ')})` : '';
  if (!ready && checks >= max) {
    const more = waitingFor.length > 10 ? `; and ${waitingFor.length - 10} more` : '';
    throw new PropagationTimeoutError(
      `TXT values not visible at every authoritative server after ${checks} checks: ${waitingFor.slice(0, 10).join('; ')}${more}${leftOutNote}`,
    );
  }
  ctx.logger.info(ready ? 'records visible everywhere' : 'records not visible yet', {
    certificate: item.certificate,
    checks,
    waitingFor,
    ...(leftOut.length > 0 ? { leftOut } : {}),
  });
  const leftOutOutput = leftOut.length > 0 ? { leftOut: leftOut.slice(0, 4).map((l) => clip(l, 200)) } : {};
  return ready
    ? { ready, checks, ...leftOutOutput }
    : { ready, checks, waitingFor: waitingFor.slice(0, 10).map((w) => clip(w, 200)), ...leftOutOutput };
}
