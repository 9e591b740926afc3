import type { BatchFailure, BatchSummarizeInput, SummarizeInput } from '../core/state';
import { summarizeRunOrBatch } from '../core/steps/summarize';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseAnySummarizeInput } from '../runtime/inputs';
import { alerterWiring } from '../runtime/wiring/alerter';
import { storesWiring } from '../runtime/wiring/stores';

/**
 * The adapters this step uses (and nothing else: the function's bundle carries only these). The
 * stores are read (metadata only) for the certificates of a batch that failed as a whole.
 */
export const wiring: Wirings = { alerter: alerterWiring, stores: storesWiring };

/**
 * Task states `Summarize` (the run), `SummarizeBatch` (each batch) and `BatchFailed` (a batch
 * that failed as a whole): see {@link summarizeRunOrBatch}.
 */
export const handler = makeHandler<
  SummarizeInput | BatchSummarizeInput | BatchFailure,
  Awaited<ReturnType<typeof summarizeRunOrBatch>>
>({
  step: 'Summarize',
  parse: parseAnySummarizeInput,
  run: summarizeRunOrBatch,
  wiring,
});
