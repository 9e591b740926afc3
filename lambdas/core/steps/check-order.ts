import { loadAccount } from '../acme/account';
import { acmeClient } from '../acme/client';
import { withProblem } from '../ca-problem';
import { OrderInvalidError, OrderTimeoutError } from '../errors';
import type { CertificateItem } from '../state';
import { required, runDirectoryUrl, type StepContext } from './context';

/**
 * CheckOrder (RFC 8555 §7.1.6 status changes, §7.4): `ready` ends the loop; `invalid` throws
 * {@link OrderInvalidError} with the CA's problem document of the failed challenge (§6.7);
 * anything else loops until `orderMaxChecks`.
 */
export async function checkOrder(
  item: CertificateItem,
  ctx: StepContext,
): Promise<{ status: string; checks: number }> {
  const orderState = required(item.order, 'order', 'CreateOrder');
  const checks = (item.orderStatus?.checks ?? 0) + 1;
  const max = item.timing?.orderMaxChecks ?? ctx.config.timing.orderMaxChecks;
  const account = await loadAccount(ctx.accounts(), runDirectoryUrl(ctx, orderState), orderState.accountUrl);
  const client = acmeClient(account);
  const order = await client.order(orderState.url);
  if (order.status === 'invalid') {
    const authorizations = await Promise.all(order.authorizations.map((url) => client.authorization(url)));
    const failed = authorizations.find((a) => a.status === 'invalid');
    const challenge = failed?.challenges.find((c) => c.type === 'dns-01');
    const problem = challenge?.error ?? order.error;
    const who = failed ? `${failed.wildcard ? '*.' : ''}${failed.identifier.value}` : 'the order';
    const detail = problem?.detail ?? 'no detail from the CA';
    throw new OrderInvalidError(withProblem(`the CA marked ${who} invalid: ${detail}`, problem), problem);
  }
  if (order.status !== 'ready' && order.status !== 'valid' && checks >= max) {
    throw new OrderTimeoutError(`order still "${order.status}" after ${checks} checks: ${orderState.url}`);
  }
  ctx.logger.info('order status', { certificate: item.certificate, status: order.status, checks });
  return { status: order.status, checks };
}
