import type { CertificateItem } from '../core/state';
import { checkPropagation } from '../core/steps/check-propagation';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';
import { dnsProviderWiring } from '../runtime/wiring/dns-provider';

/** The adapters this step uses (and nothing else: the function's bundle carries only these). */
export const wiring: Wirings = { dnsProvider: dnsProviderWiring };

/** Task state `CheckPropagation`: see {@link checkPropagation}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof checkPropagation>>>({
  step: 'CheckPropagation',
  parse: parseCertificateItem,
  run: checkPropagation,
  wiring,
});
