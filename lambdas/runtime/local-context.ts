import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalFileAccountStore } from '../adapters/account/local-file-account-store';
import { LocalFileAlerter } from '../adapters/alerts/local-alerter';
import { Rfc2136Provider } from '../adapters/dns/rfc2136/rfc2136-provider';
import { readTsigSecret } from '../adapters/dns/rfc2136/tsig-secret';
import { LocalPendingKeyStore } from '../adapters/pending-key/local-pending-key-store';
import { LocalDirectoryStore } from '../adapters/store/local-directory/local-directory-store';
import { parseServerAddress } from '../core/dns/dns-client';
import { ConfigError } from '../core/errors';
import { JsonLogger } from '../core/logger';
import type { CertificateStore } from '../core/ports';
import type { TaskStep } from '../core/state';
import type { StepContext } from '../core/steps/context';
import { ENV } from './env';
import { configFromEnvironment, lazy, sharedContext } from './shared-context';

/** Local mode: RFC 2136 + local directory store + local account file + alert file. */
export function buildLocalContext(step: TaskStep): StepContext {
  const config = configFromEnvironment();
  const stateDir = process.env[ENV.stateDirectory] ?? '.certflow-local/state';
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const logFile = process.env[ENV.logFile];
  const logger = new JsonLogger(
    logFile ? (line) => appendFileSync(logFile, `${line}\n`) : (line) => process.stderr.write(`${line}\n`),
    {
      step,
    },
  );
  const localStore = lazy(() => {
    if (!config.storage.localDirectory) {
      throw new ConfigError([{ path: 'storage.localDirectory', message: 'set it to use the local store' }]);
    }
    return new LocalDirectoryStore({ directory: config.storage.localDirectory });
  });
  return {
    ...sharedContext(config),
    logger,
    accounts: lazy(() => new LocalFileAccountStore({ directory: stateDir })),
    pendingKeys: lazy(() => new LocalPendingKeyStore({ directory: stateDir })),
    eab: async () => {
      const eab = config.acme.externalAccountBinding;
      if (!eab) return undefined;
      const hmacKey = eab.hmacKeyEnv ? process.env[eab.hmacKeyEnv] : undefined;
      if (!hmacKey) {
        throw new ConfigError([
          {
            path: 'acme.externalAccountBinding.hmacKeyEnv',
            message: `set the environment variable ${eab.hmacKeyEnv ?? '(unset)'} to the EAB HMAC key`,
          },
        ]);
      }
      return { kid: eab.kid, hmacKey };
    },
    dnsProvider: lazy(() => {
      if (config.dns.provider !== 'rfc2136') {
        throw new ConfigError([
          {
            path: 'dns.provider',
            message: 'local mode writes records with "rfc2136"; route53 needs the AWS deployment',
          },
        ]);
      }
      return new Rfc2136Provider({
        server: parseServerAddress(config.dns.server),
        zone: config.delegation.zone,
        tsig: {
          name: config.dns.tsig.name,
          algorithm: config.dns.tsig.algorithm,
          secret: readTsigSecret(config.dns.tsig),
        },
      });
    }),
    stores: (certificate): CertificateStore[] =>
      certificate.stores.map((kind) => {
        if (kind !== 'local') {
          throw new ConfigError([
            {
              path: `certificates[${certificate.name}].stores`,
              message: `local mode can only use the "local" store, not "${kind}"`,
            },
          ]);
        }
        return localStore();
      }),
    alerter: lazy(() => new LocalFileAlerter(join(stateDir, 'alerts.jsonl'))),
  };
}
