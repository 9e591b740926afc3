import type { SummarizeInput } from '../core/state';
import { summarize } from '../core/steps/summarize';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseSummarizeInput } from '../runtime/inputs';
import { alerterWiring } from '../runtime/wiring/alerter';

/** The adapters this step uses (and nothing else: the function's bundle carries only these). */
export const wiring: Wirings = { alerter: alerterWiring };

/** Task state `Summarize`: see {@link summarize}. */
export const handler = makeHandler<SummarizeInput, Awaited<ReturnType<typeof summarize>>>({
  step: 'Summarize',
  parse: parseSummarizeInput,
  run: summarize,
  wiring,
});
