import { loadAccount } from '../acme/account';
import { acmeClient } from '../acme/client';
import type { CertificateItem } from '../state';
import { required, runDirectoryUrl, type StepContext } from './context';

/** AnswerChallenges (RFC 8555 §7.5.1): tell the CA each dns-01 challenge is ready to validate. */
export async function answerChallenges(
  item: CertificateItem,
  ctx: StepContext,
): Promise<{ challenges: number }> {
  const order = required(item.order, 'order', 'CreateOrder');
  const account = await loadAccount(ctx.accounts(), runDirectoryUrl(ctx, order), order.accountUrl);
  const client = acmeClient(account);
  for (const record of order.records) {
    await client.respondToChallenge(record.challengeUrl);
  }
  ctx.logger.info('answered challenges', { certificate: item.certificate, challenges: order.records.length });
  return { challenges: order.records.length };
}
