import type { RunInput } from '../core/state';
import { selectDue } from '../core/steps/select-due';
import { makeHandler } from '../runtime/handler';
import { parseRunInput } from '../runtime/inputs';
import { accountsWiring } from '../runtime/wiring/accounts';
import { eabWiring } from '../runtime/wiring/eab';
import { storesWiring } from '../runtime/wiring/stores';

/** Task state `SelectDue`: see {@link selectDue}. */
export const handler = makeHandler<RunInput, Awaited<ReturnType<typeof selectDue>>>({
  step: 'SelectDue',
  parse: parseRunInput,
  run: selectDue,
  wiring: { accounts: accountsWiring, eab: eabWiring, stores: storesWiring },
});
