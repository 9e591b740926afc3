import type { RunInput } from '../core/state';
import { selectDue } from '../core/steps/select-due';
import { makeHandler, type Wirings } from '../runtime/handler';
import { parseRunInput } from '../runtime/inputs';
import { accountsWiring } from '../runtime/wiring/accounts';
import { eabWiring } from '../runtime/wiring/eab';
import { orderBudgetWiring } from '../runtime/wiring/order-budget';
import { storesWiring } from '../runtime/wiring/stores';

/** The adapters this step uses (and nothing else: the function's bundle carries only these). */
export const wiring: Wirings = {
  accounts: accountsWiring,
  orderBudget: orderBudgetWiring,
  eab: eabWiring,
  stores: storesWiring,
};

/** Task state `SelectDue`: see {@link selectDue}. */
export const handler = makeHandler<RunInput, Awaited<ReturnType<typeof selectDue>>>({
  step: 'SelectDue',
  parse: parseRunInput,
  run: selectDue,
  wiring,
});
