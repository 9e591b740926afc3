import { LocalFileAccountStore } from '../../adapters/account/local-file-account-store';
import type { SecretsManagerAccountStore } from '../../adapters/account/secrets-manager-account-store';
import { nodeHttpsTransport } from '../../adapters/acme/transport/node-https';
import { limitAcmeRequests, trustCaBundle, useAcmeTransport } from '../../core/acme/client';
import type { CertflowConfig } from '../../core/config/schema';
import { secretsManagerClient } from './aws-clients';
import { runtimeSecretOptions } from './runtime-secrets';
import { localStateDirectory, type Wiring } from './types';

/**
 * The ACME transport of this process: requests over node:https, trusting the CA bundle
 * (`acme.caBundleFile`: Pebble, on-premises CAs) and bounded by `acme.requestTimeoutSeconds`.
 */
export function configureAcmeTransport(
  acme: Pick<CertflowConfig['acme'], 'caBundleFile' | 'requestTimeoutSeconds'>,
): void {
  useAcmeTransport(nodeHttpsTransport);
  trustCaBundle(acme.caBundleFile);
  limitAcmeRequests(acme.requestTimeoutSeconds);
}

/** The ACME account store: a 0600 file in the local state directory, or the account secret on AWS. */
export const accountsWiring: Wiring<'accounts'> = ({ config, mode }) => {
  // Every step that talks to the CA loads the account: set up the CA's transport here.
  configureAcmeTransport(config.acme);
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
