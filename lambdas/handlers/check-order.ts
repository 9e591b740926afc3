import type { CertificateItem } from '../core/state';
import { checkOrder } from '../core/steps/check-order';
import { makeHandler } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { accountsWiring } from '../runtime/wiring/accounts';

/** Task state `CheckOrder`: see {@link checkOrder}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof checkOrder>>>({
  step: 'CheckOrder',
  parse: parseCertificateItem,
  run: checkOrder,
  wiring: { accounts: accountsWiring },
});
