import type { CertificateItem } from '../core/state';
import { checkOrder } from '../core/steps/check-order';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { accountsWiring } from '../runtime/wiring/accounts';

/** The adapters this step uses (and nothing else: the function's bundle carries only these). */
export const wiring: Wirings = { accounts: accountsWiring };

/** Task state `CheckOrder`: see {@link checkOrder}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof checkOrder>>>({
  step: 'CheckOrder',
  parse: parseCertificateItem,
  run: checkOrder,
  wiring,
});
