import type { RunInput } from '../core/state';
import { selectDue } from '../core/steps/select-due';
import { makeHandler } from '../runtime/handler';
import { parseRunInput } from '../runtime/inputs';

/** Task state `SelectDue`: see {@link selectDue}. */
export const handler = makeHandler<RunInput, Awaited<ReturnType<typeof selectDue>>>(
  'SelectDue',
  parseRunInput,
  selectDue,
);
