import type { CertificateItem } from '../core/state';
import { finalizeAndStore } from '../core/steps/finalize-and-store';
import { makeHandler } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { accountsWiring } from '../runtime/wiring/accounts';
import { storesWiring } from '../runtime/wiring/stores';

/** Task state `FinalizeAndStore`: see {@link finalizeAndStore}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof finalizeAndStore>>>({
  step: 'FinalizeAndStore',
  parse: parseCertificateItem,
  run: finalizeAndStore,
  wiring: { accounts: accountsWiring, stores: storesWiring },
});
