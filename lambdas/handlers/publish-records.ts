import type { CertificateItem } from '../core/state';
import { publishRecords } from '../core/steps/publish-records';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { dnsProviderWiring } from '../runtime/wiring/dns-provider';
import { pendingRecordsWiring } from '../runtime/wiring/pending-records';
import { runLivenessWiring } from '../runtime/wiring/run-liveness';

/** The adapters this step uses (and nothing else: the function's bundle carries only these). */
export const wiring: Wirings = {
  dnsProvider: dnsProviderWiring,
  pendingRecords: pendingRecordsWiring,
  runLiveness: runLivenessWiring,
};

/** Task state `PublishRecords`: see {@link publishRecords}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof publishRecords>>>({
  step: 'PublishRecords',
  parse: parseCertificateItem,
  run: publishRecords,
  wiring,
});
