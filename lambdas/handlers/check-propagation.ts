import type { CertificateItem } from '../core/state';
import { checkPropagation } from '../core/steps/check-propagation';
import { makeHandler } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { dnsProviderWiring } from '../runtime/wiring/dns-provider';

/** Task state `CheckPropagation`: see {@link checkPropagation}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof checkPropagation>>>({
  step: 'CheckPropagation',
  parse: parseCertificateItem,
  run: checkPropagation,
  wiring: { dnsProvider: dnsProviderWiring },
});
