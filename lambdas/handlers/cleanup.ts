import type { CertificateItem, SweepInput } from '../core/state';
import { cleanupOrSweep } from '../core/steps/cleanup';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseCleanupInput } from '../runtime/inputs';
import { dnsProviderWiring } from '../runtime/wiring/dns-provider';
import { pendingRecordsWiring } from '../runtime/wiring/pending-records';
import { runLivenessWiring } from '../runtime/wiring/run-liveness';

/** The adapters this step uses (and nothing else: the function's bundle carries only these). */
export const wiring: Wirings = {
  dnsProvider: dnsProviderWiring,
  pendingRecords: pendingRecordsWiring,
  runLiveness: runLivenessWiring,
};

/** Task states `Cleanup`, `CleanupAfterFailure` and `SweepLeftovers`: see {@link cleanupOrSweep}. */
export const handler = makeHandler<CertificateItem | SweepInput, Awaited<ReturnType<typeof cleanupOrSweep>>>({
  step: 'Cleanup',
  // the run-start sweep is its own state: its lines and duration say so
  stepOf: (raw) => ((raw as { sweep?: unknown } | null)?.sweep === true ? 'SweepLeftovers' : 'Cleanup'),
  parse: parseCleanupInput,
  run: cleanupOrSweep,
  wiring,
});
