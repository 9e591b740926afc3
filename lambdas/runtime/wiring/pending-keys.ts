import { LocalPendingKeyStore } from '../../adapters/pending-key/local-pending-key-store';
import type { PendingKeyStore } from '../../core/ports';
import { secretsManagerClient } from './aws-clients';
import { runtimeSecretOptions } from './runtime-secrets';
import { localStateDirectory, type Wiring } from './types';

/**
 * Where FinalizeAndStore keeps an order's private key between its attempts: a 0600 file in the
 * local state directory, or the `<prefix>/pending-key/<certificate>` secret on AWS.
 */
export const pendingKeysWiring: Wiring<'pendingKeys'> = ({ mode }) => {
  let store: PendingKeyStore | undefined;
  return () => {
    if (store) return store;
    if (mode === 'local') {
      store = new LocalPendingKeyStore({ directory: localStateDirectory() });
    } else {
      const { SecretsManagerPendingKeyStore } =
        require('../../adapters/pending-key/secrets-manager-pending-key-store') as typeof import('../../adapters/pending-key/secrets-manager-pending-key-store');
      store = new SecretsManagerPendingKeyStore({
        client: secretsManagerClient(),
        ...runtimeSecretOptions(),
      });
    }
    return store;
  };
};
