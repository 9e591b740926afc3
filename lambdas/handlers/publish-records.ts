import type { CertificateItem } from '../core/state';
import { publishRecords } from '../core/steps/publish-records';
import { makeHandler } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { dnsProviderWiring } from '../runtime/wiring/dns-provider';
import { pendingRecordsWiring } from '../runtime/wiring/pending-records';
import { runLivenessWiring } from '../runtime/wiring/run-liveness';

/** Task state `PublishRecords`: see {@link publishRecords}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof publishRecords>>>({
  step: 'PublishRecords',
  parse: parseCertificateItem,
  run: publishRecords,
  wiring: {
    dnsProvider: dnsProviderWiring,
    pendingRecords: pendingRecordsWiring,
    runLiveness: runLivenessWiring,
  },
});
