import type { SummarizeInput } from '../core/state';
import { summarize } from '../core/steps/summarize';
import { makeHandler } from '../runtime/handler';
import { parseSummarizeInput } from '../runtime/inputs';

/** Task state `Summarize`: see {@link summarize}. */
export const handler = makeHandler<SummarizeInput, Awaited<ReturnType<typeof summarize>>>(
  'Summarize',
  parseSummarizeInput,
  summarize,
);
