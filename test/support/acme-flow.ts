/**
 * The whole RFC 8555 order flow with certflow's own client, for tests against a Pebble that
 * validates every challenge (`PEBBLE_VA_ALWAYS_VALID=1`): order, answer each dns-01 challenge,
 * wait for `ready`, finalize with a fresh key, wait for `valid`, download.
 */
import type { AcmeClient } from '../../lambdas/core/acme/api';
import { createCsr } from '../../lambdas/core/certificate/csr';
import { createPrivateKeyPem } from '../../lambdas/core/certificate/keys';
import type { KeyType } from '../../lambdas/core/ports';

export interface IssuedByFlow {
  orderUrl: string;
  keyPem: string;
  fullchainPem: string;
}

export async function issueWithClient(
  client: AcmeClient,
  names: string[],
  keyType: KeyType = 'ecdsa-p256',
): Promise<IssuedByFlow> {
  const { url: orderUrl, order } = await client.newOrder(names);
  for (const authzUrl of order.authorizations) {
    const authz = await client.authorization(authzUrl);
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((c) => c.type === 'dns-01');
    if (!challenge) throw new Error(`no dns-01 challenge for ${authz.identifier.value}`);
    await client.respondToChallenge(challenge.url);
  }
  const ready = await client.waitForOrder(orderUrl, { while: ['pending'], intervalMs: 100 });
  if (ready.status !== 'ready') throw new Error(`order ${orderUrl} is ${ready.status}, not ready`);
  const keyPem = await createPrivateKeyPem(keyType);
  await client.finalize(ready, createCsr(keyPem, names));
  const valid = await client.waitForOrder(orderUrl, { while: ['processing'], intervalMs: 100 });
  if (valid.status !== 'valid' || !valid.certificate) throw new Error(`order ${orderUrl} is ${valid.status}`);
  return { orderUrl, keyPem, fullchainPem: await client.certificate(valid.certificate) };
}
