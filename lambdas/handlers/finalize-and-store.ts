import type { CertificateItem } from '../core/state';
import { finalizeAndStore } from '../core/steps/finalize-and-store';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { accountsWiring } from '../runtime/wiring/accounts';
import { expiryAlarmsWiring } from '../runtime/wiring/expiry-alarms';
import { pendingKeysWiring } from '../runtime/wiring/pending-keys';
import { rejectedCertificatesWiring, storesWiring } from '../runtime/wiring/stores';

/** The adapters this step uses (and nothing else: the function's bundle carries only these). */
export const wiring: Wirings = {
  accounts: accountsWiring,
  stores: storesWiring,
  pendingKeys: pendingKeysWiring,
  expiryAlarms: expiryAlarmsWiring,
  rejectedCertificates: rejectedCertificatesWiring,
};

/** Task state `FinalizeAndStore`: see {@link finalizeAndStore}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof finalizeAndStore>>>({
  step: 'FinalizeAndStore',
  parse: parseCertificateItem,
  run: finalizeAndStore,
  wiring,
});
