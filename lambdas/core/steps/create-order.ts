import { loadAccount } from '../acme/account';
import { acmeClient } from '../acme/client';
import { isProblemType } from '../acme/problem';
import { resolveDelegation } from '../dns/delegation';
import { baseName } from '../dns/names';
import { AcmeProblemError, DelegationError, OrderInvalidError, RateLimitedError } from '../errors';
import { blockNewOrders } from '../renewal/order-budget';
import type { CertificateItem, ChallengeRecord, OrderState } from '../state';
import { certificateByName, required, runDirectoryUrl, type StepContext } from './context';

/**
 * CreateOrder (RFC 8555 §7.4 newOrder, §7.5 authorizations, §8.4 dns-01): first resolve where
 * each `_acme-challenge` CNAME lands, refusing any name not delegated into the zone (so no order
 * is placed for a name that cannot validate), then place the order and compute each pending
 * authorization's TXT value. Valid (reused) authorizations need no record.
 */
export async function createOrder(item: CertificateItem, ctx: StepContext): Promise<OrderState> {
  /**
   * The CA's `rateLimited` (RFC 8555 §6.6) turns into a deferral, never a hot retry: new orders
   * for this account are blocked until the time the CA gave (its Retry-After; else an hour), and
   * the certificate is reported deferred, not failed.
   */
  const rateLimitedOr = async (error: unknown): Promise<unknown> => {
    if (!(error instanceof AcmeProblemError) || !isProblemType(error.problem, 'rateLimited')) return error;
    const until = error.retryAfter ?? new Date(ctx.now().getTime() + 3600_000);
    await ctx
      .orderBudget()
      .update(runDirectoryUrl(ctx, item), (state) => ({
        state: blockNewOrders(state, until),
        result: undefined,
      }))
      .catch((e: unknown) => ctx.logger.warn('could not record the CA block', { error: e }));
    return new RateLimitedError(
      `the CA refused the new order for ${item.certificate} (rateLimited): ${error.message}; deferred, retry after ${until.toISOString()}`,
      until,
      { cause: error },
    );
  };
  const cert = certificateByName(ctx.config, item.certificate);
  const accountUrl = required(item.accountUrl, 'accountUrl', 'SelectDue');
  const zone = ctx.config.delegation.zone;

  // Apex and wildcard share `_acme-challenge.<base>`: resolve each base name once.
  const targets = new Map<string, { challengeName: string; fqdn: string }>();
  const problems: DelegationError[] = [];
  for (const base of new Set(cert.domains.map(baseName))) {
    try {
      targets.set(
        base,
        await resolveDelegation(base, { zone, resolver: ctx.resolver(), client: ctx.dnsClient() }),
      );
    } catch (error) {
      if (!(error instanceof DelegationError)) throw error;
      problems.push(error);
    }
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) {
    throw new DelegationError(
      problems.map((p) => p.message).join('\n'),
      problems[0].domain,
      problems[0].expectedRecord,
      {
        cause: problems,
      },
    );
  }

  const directoryUrl = runDirectoryUrl(ctx, item);
  const account = await loadAccount(ctx.accounts(), directoryUrl, accountUrl);
  const client = acmeClient(account);
  // Wildcards go in as "*.name" identifiers (RFC 8555 §7.1.3).
  const { url: orderUrl, order } = await client.newOrder(cert.domains).catch(async (error: unknown) => {
    throw await rateLimitedOr(error);
  });
  const authorizations = await Promise.all(
    order.authorizations.map(async (url) => ({ url, authz: await client.authorization(url) })),
  );
  const records: ChallengeRecord[] = [];
  for (const { url, authz } of authorizations) {
    if (authz.status === 'valid') continue;
    const domain = `${authz.wildcard ? '*.' : ''}${authz.identifier.value}`;
    const challenge = authz.challenges.find((c) => c.type === 'dns-01');
    if (!challenge?.token) {
      throw new OrderInvalidError(`the CA offered no dns-01 challenge for ${domain}`, undefined);
    }
    const target = targets.get(authz.identifier.value);
    if (!target)
      throw new OrderInvalidError(
        `the CA returned an authorization for ${domain}, which was not ordered`,
        undefined,
      );
    records.push({
      domain,
      challengeName: target.challengeName,
      fqdn: target.fqdn,
      value: client.dns01TxtValue(challenge.token),
      authorizationUrl: url,
      challengeUrl: challenge.url,
    });
  }
  ctx.logger.info('order created', {
    certificate: cert.name,
    order: orderUrl,
    pendingAuthorizations: records.length,
  });
  return { url: orderUrl, directoryUrl, accountUrl, domains: cert.domains, keyType: cert.keyType, records };
}
