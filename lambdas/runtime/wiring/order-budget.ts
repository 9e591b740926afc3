import { LocalOrderBudgetStore } from '../../adapters/order-budget/local-order-budget-store';
import type { OrderBudgetStore } from '../../core/ports';
import { ENV } from '../env';
import { dynamoDbClient } from './aws-clients';
import { requireEnv } from './require-env';
import { localStateDirectory, type Wiring } from './types';

/** New-order budgets: files in the local state directory, or items in the stack's run-state table. */
export const orderBudgetWiring: Wiring<'orderBudget'> = ({ mode }) => {
  let store: OrderBudgetStore | undefined;
  return () => {
    if (store) return store;
    if (mode === 'local') {
      store = new LocalOrderBudgetStore({ directory: localStateDirectory() });
    } else {
      const { DynamoDbOrderBudgetStore } =
        require('../../adapters/order-budget/dynamodb-order-budget-store') as typeof import('../../adapters/order-budget/dynamodb-order-budget-store');
      store = new DynamoDbOrderBudgetStore({
        client: dynamoDbClient(),
        tableName: requireEnv(ENV.pendingTable),
      });
    }
    return store;
  };
};
