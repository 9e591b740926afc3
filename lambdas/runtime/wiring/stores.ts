import type { CertificateConfig } from '../../core/config/schema';
import { ConfigError } from '../../core/errors';
import type { CertificateStore, RejectedCertificateStore } from '../../core/ports';
import { acmClient, functionRegion, secretsManagerClient } from './aws-clients';
import { runtimeSecretOptions } from './runtime-secrets';
import { localStateDirectory, type Wiring } from './types';

/**
 * The certificate stores each certificate names: `local` (certbot's layout; local mode),
 * `secretsmanager` and `acm` (AWS). Each adapter module is loaded when first used.
 */
export const storesWiring: Wiring<'stores'> = ({ config, mode }) => {
  const made = new Map<string, CertificateStore>();
  const once = (key: string, make: () => CertificateStore): CertificateStore => {
    let store = made.get(key);
    if (!store) {
      store = make();
      made.set(key, store);
    }
    return store;
  };
  const storeFor = (certificate: CertificateConfig, kind: CertificateConfig['stores'][number]) => {
    if (mode === 'local' && kind !== 'local') {
      throw new ConfigError([
        {
          path: `certificates[${certificate.name}].stores`,
          message: `local mode can only use the "local" store, not "${kind}"`,
        },
      ]);
    }
    if (mode === 'aws' && kind === 'local') {
      throw new ConfigError([
        {
          path: `certificates[${certificate.name}].stores`,
          message: 'the "local" store is for local mode; use "secretsmanager" and/or "acm" on AWS',
        },
      ]);
    }
    switch (kind) {
      case 'local':
        return once('local', () => {
          const directory = config.storage.localDirectory;
          if (!directory) {
            throw new ConfigError([
              { path: 'storage.localDirectory', message: 'set it to use the local store' },
            ]);
          }
          const { LocalDirectoryStore } =
            require('../../adapters/store/local-directory/local-directory-store') as typeof import('../../adapters/store/local-directory/local-directory-store');
          const { trustAnchorsFor } =
            require('../../core/certificate/trust-anchors') as typeof import('../../core/certificate/trust-anchors');
          return new LocalDirectoryStore({ directory, trustAnchors: trustAnchorsFor(config) });
        });
      case 'secretsmanager':
        return once('secretsmanager', () => {
          const { SecretsManagerCertificateStore } =
            require('../../adapters/store/secrets-manager/secrets-manager-store') as typeof import('../../adapters/store/secrets-manager/secrets-manager-store');
          return new SecretsManagerCertificateStore({
            client: secretsManagerClient(),
            ...runtimeSecretOptions(),
          });
        });
      case 'acm': {
        const regions = [...new Set([functionRegion() ?? 'us-east-1', ...certificate.acmRegions])];
        return once(`acm:${regions.join(',')}`, () => {
          const { AcmCertificateStore } =
            require('../../adapters/store/acm/acm-store') as typeof import('../../adapters/store/acm/acm-store');
          // Tagged with (and limited to) this deployment: its secret name prefix, which the
          // stack's IAM conditions name (lib/iam.ts).
          return new AcmCertificateStore({
            clientFor: acmClient,
            regions,
            deployment: runtimeSecretOptions().namePrefix,
          });
        });
      }
    }
  };
  return (certificate) => certificate.stores.map((kind) => storeFor(certificate, kind));
};

/**
 * Where a CA answer that failed verification is kept: locally, a file under
 * `<state>/rejected/`; on AWS none (FinalizeAndStore logs it, base64-encoded, in the function's
 * log).
 */
export const rejectedCertificatesWiring: Wiring<'rejectedCertificates'> = ({ mode }) => {
  if (mode !== 'local') return undefined;
  let store: RejectedCertificateStore | undefined;
  return () => {
    if (store) return store;
    const { LocalRejectedCertificates } =
      require('../../adapters/store/local-directory/rejected-certificates') as typeof import('../../adapters/store/local-directory/rejected-certificates');
    store = new LocalRejectedCertificates({ directory: `${localStateDirectory()}/rejected` });
    return store;
  };
};
