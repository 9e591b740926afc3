import type { CertificateItem } from '../core/state';
import { recordFailure } from '../core/steps/record-failure';
import { makeHandler } from '../runtime/handler';
import { parseFailureInput } from '../runtime/inputs';
import { alerterWiring } from '../runtime/wiring/alerter';

/** Task state `RecordFailure`: see {@link recordFailure}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof recordFailure>>>({
  step: 'RecordFailure',
  parse: parseFailureInput,
  run: recordFailure,
  wiring: { alerter: alerterWiring },
});
