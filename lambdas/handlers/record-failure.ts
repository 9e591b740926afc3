import type { CertificateItem } from '../core/state';
import { recordFailure } from '../core/steps/record-failure';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseFailureInput } from '../runtime/inputs';
import { alerterWiring } from '../runtime/wiring/alerter';

/** The adapters this step uses (and nothing else: the function's bundle carries only these). */
export const wiring: Wirings = { alerter: alerterWiring };

/** Task state `RecordFailure`: see {@link recordFailure}. */
export const handler = makeHandler<CertificateItem, Awaited<ReturnType<typeof recordFailure>>>({
  step: 'RecordFailure',
  parse: parseFailureInput,
  run: recordFailure,
  wiring,
});
