import { LocalFileAccountStore } from '../../adapters/account/local-file-account-store';
import type { SecretsManagerAccountStore } from '../../adapters/account/secrets-manager-account-store';
import { limitAcmeRequests, trustCaBundle } from '../../core/acme/client';
import { secretsManagerClient } from './aws-clients';
import { runtimeSecretOptions } from './runtime-secrets';
import { localStateDirectory, type Wiring } from './types';

/** The ACME account store: a 0600 file in the local state directory, or the account secret on AWS. */
export const accountsWiring: Wiring<'accounts'> = ({ config, mode }) => {
  // Every step that talks to the CA loads the account: trust the CA bundle here (Pebble, on-prem CAs).
  trustCaBundle(config.acme.caBundleFile);
  limitAcmeRequests(config.acme.requestTimeoutSeconds);
  let store: LocalFileAccountStore | SecretsManagerAccountStore | undefined;
  return () => {
    if (store) return store;
    if (mode === 'local') {
      store = new LocalFileAccountStore({ directory: localStateDirectory() });
    } else {
      const { SecretsManagerAccountStore: Store } =
        require('../../adapters/account/secrets-manager-account-store') as typeof import('../../adapters/account/secrets-manager-account-store');
      store = new Store({ client: secretsManagerClient(), ...runtimeSecretOptions() });
    }
    return store;
  };
};
