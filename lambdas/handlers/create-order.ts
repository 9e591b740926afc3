import type { CertificateItem } from '../core/state';
import { createOrder } from '../core/steps/create-order';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { accountsWiring } from '../runtime/wiring/accounts';
import { orderBudgetWiring } from '../runtime/wiring/order-budget';

/** The adapters this step uses (and nothing else: the function's bundle carries only these). */
export const wiring: Wirings = { accounts: accountsWiring, orderBudget: orderBudgetWiring };

/** Task state `CreateOrder`: see {@link createOrder}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof createOrder>>>({
  step: 'CreateOrder',
  parse: parseCertificateItem,
  run: createOrder,
  wiring,
});
