import { LocalPendingRecordStore } from '../../adapters/pending/local-pending-records';
import type { PendingRecordStore } from '../../core/ports';
import { ENV } from '../env';
import { dynamoDbClient } from './aws-clients';
import { requireEnv } from './require-env';
import { localStateDirectory, type Wiring } from './types';

/** Pending TXT values: files in the local state directory, or the stack's DynamoDB table. */
export const pendingRecordsWiring: Wiring<'pendingRecords'> = ({ mode }) => {
  let store: PendingRecordStore | undefined;
  return () => {
    if (store) return store;
    if (mode === 'local') {
      store = new LocalPendingRecordStore({ directory: localStateDirectory() });
    } else {
      const { DynamoDbPendingRecordStore } =
        require('../../adapters/pending/dynamodb-pending-records') as typeof import('../../adapters/pending/dynamodb-pending-records');
      store = new DynamoDbPendingRecordStore({
        client: dynamoDbClient(),
        tableName: requireEnv(ENV.pendingTable),
      });
    }
    return store;
  };
};
