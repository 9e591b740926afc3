import type { SummarizeInput } from '../core/state';
import { summarize } from '../core/steps/summarize';
import { makeHandler } from '../runtime/handler';
import { parseSummarizeInput } from '../runtime/inputs';
import { alerterWiring } from '../runtime/wiring/alerter';

/** Task state `Summarize`: see {@link summarize}. */
export const handler = makeHandler<SummarizeInput, Awaited<ReturnType<typeof summarize>>>({
  step: 'Summarize',
  parse: parseSummarizeInput,
  run: summarize,
  wiring: { alerter: alerterWiring },
});
