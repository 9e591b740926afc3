import type { CertificateItem } from '../core/state';
import { finalizeAndStore } from '../core/steps/finalize-and-store';
import { makeHandler } from '../runtime/handler';
import { parseCertificateItem } from '../runtime/inputs';

/** Task state `FinalizeAndStore`: see {@link finalizeAndStore}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof finalizeAndStore>>>(
  'FinalizeAndStore',
  parseCertificateItem,
  finalizeAndStore,
);
