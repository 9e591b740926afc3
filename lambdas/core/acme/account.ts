import * as acme from 'acme-client';
import { AccountStoreError } from '../errors';
import type { AccountStore, AcmeAccount, Logger } from '../ports';
import { acmeCall, acmeClient, type EabKey } from './client';

export interface EnsureAccountOptions {
  directoryUrl: string;
  email: string;
  store: AccountStore;
  eab?: EabKey;
  logger: Logger;
}

/**
 * Load the ACME account key, creating it once (ECDSA P-256) if there is none, and register it
 * (RFC 8555 §7.3 newAccount; idempotent for an existing key: the CA returns the same account,
 * §7.3.1). Returns the account with its URL. The key never leaves this function's result.
 */
export async function ensureAccount(options: EnsureAccountOptions): Promise<AcmeAccount> {
  const { directoryUrl, store, logger } = options;
  let account = await store.load(directoryUrl);
  let created = false;
  if (!account) {
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    account = { directoryUrl, keyPem: key.toString() };
    created = true;
  }
  const client = acmeClient({ ...account, accountUrl: undefined }, options.eab);
  await acmeCall('newAccount', () =>
    client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${options.email}`] }),
  );
  const accountUrl = client.getAccountUrl();
  if (created || account.accountUrl !== accountUrl) {
    try {
      await store.save({ ...account, accountUrl });
    } catch (cause) {
      throw new AccountStoreError('could not save the ACME account', { cause });
    }
    logger.info(created ? 'created ACME account' : 'ACME account URL updated', { accountUrl });
  }
  return { ...account, accountUrl };
}

/** Load the account a previous step registered; its URL comes from the state. */
export async function loadAccount(
  store: AccountStore,
  directoryUrl: string,
  accountUrl: string,
): Promise<AcmeAccount> {
  const account = await store.load(directoryUrl);
  if (!account) {
    throw new AccountStoreError(
      `no ACME account key for ${directoryUrl}; SelectDue creates it at the start of a run`,
    );
  }
  return { ...account, accountUrl };
}
