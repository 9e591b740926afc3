import type { CertificateItem } from '../core/state';
import { cleanup } from '../core/steps/cleanup';
import { makeHandler } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { dnsProviderWiring } from '../runtime/wiring/dns-provider';

/** Task state `Cleanup`: see {@link cleanup}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof cleanup>>>({
  step: 'Cleanup',
  parse: parseCertificateItem,
  run: cleanup,
  wiring: { dnsProvider: dnsProviderWiring },
});
