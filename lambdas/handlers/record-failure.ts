import type { CertificateItem } from '../core/state';
import { recordFailure } from '../core/steps/record-failure';
import { makeHandler } from '../runtime/handler';
import { parseFailureInput } from '../runtime/inputs';

/** Task state `RecordFailure`: see {@link recordFailure}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof recordFailure>>>(
  'RecordFailure',
  parseFailureInput,
  recordFailure,
);
