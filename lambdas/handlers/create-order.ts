import type { CertificateItem } from '../core/state';
import { createOrder } from '../core/steps/create-order';
import { makeHandler } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { accountsWiring } from '../runtime/wiring/accounts';

/** Task state `CreateOrder`: see {@link createOrder}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof createOrder>>>({
  step: 'CreateOrder',
  parse: parseCertificateItem,
  run: createOrder,
  wiring: { accounts: accountsWiring },
});
