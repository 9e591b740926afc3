import { AccountStoreError } from '../errors';
import type { AccountStore, AcmeAccount, Logger } from '../ports';
import { acmeClient } from './client';
import { createAccountKeyPem, type EabKey } from './jws';

export interface EnsureAccountOptions {
  directoryUrl: string;
  email: string;
  store: AccountStore;
  eab?: EabKey;
  logger: Logger;
}

/**
 * The ACME account for the directory, registered (RFC 8555 §7.3 newAccount, with External
 * Account Binding §7.3.4 when given). An existing key is registered again, which is idempotent
 * (§7.3.1: the CA answers with the existing account) and confirms its URL. Without one, a new
 * key (ECDSA P-256) is registered and then stored create-if-absent
 * ({@link AccountStore.saveIfAbsent}): when two runs race on a fresh store, one account is
 * stored and both return it (same key, same URL). Nothing is stored when the CA refuses. The
 * key never leaves this function's result.
 */
export async function ensureAccount(options: EnsureAccountOptions): Promise<AcmeAccount> {
  const { directoryUrl, store, logger } = options;
  const stored = await store.load(directoryUrl);
  if (stored) return confirm(stored, options);

  const keyPem = await createAccountKeyPem();
  let url: string;
  try {
    url = (await register(directoryUrl, keyPem, options)).url;
  } catch (error) {
    // A run racing this one may have stored its account meanwhile (and, with a single-use EAB
    // key, consumed the binding): use that account rather than fail.
    const winner = await store.load(directoryUrl).catch(() => undefined);
    if (winner?.accountUrl) return winner;
    throw error;
  }
  let account: AcmeAccount;
  try {
    account = await store.saveIfAbsent({ directoryUrl, keyPem, accountUrl: url });
  } catch (cause) {
    if (cause instanceof AccountStoreError) throw cause;
    throw new AccountStoreError(`could not save the ACME account for ${directoryUrl}`, { cause });
  }
  if (account.keyPem === keyPem) {
    logger.info('created ACME account', { accountUrl: url });
    return account;
  }
  logger.info('another run stored an ACME account first; using it', { accountUrl: account.accountUrl });
  return confirm(account, options);
}

/** Register a stored key again (idempotent) and record its URL when it was missing or changed. */
async function confirm(account: AcmeAccount, options: EnsureAccountOptions): Promise<AcmeAccount> {
  const { url } = await register(account.directoryUrl, account.keyPem, options);
  if (account.accountUrl !== url) {
    try {
      await options.store.save({ ...account, accountUrl: url });
    } catch (cause) {
      if (cause instanceof AccountStoreError) throw cause;
      throw new AccountStoreError(`could not save the ACME account URL for ${account.directoryUrl}`, {
        cause,
      });
    }
    options.logger.info('ACME account URL recorded', { accountUrl: url });
  }
  return { ...account, accountUrl: url };
}

function register(
  directoryUrl: string,
  keyPem: string,
  options: EnsureAccountOptions,
): Promise<{ url: string; created: boolean }> {
  return acmeClient({ directoryUrl, keyPem }).newAccount({
    termsOfServiceAgreed: true,
    contact: [`mailto:${options.email}`],
    ...(options.eab ? { eab: options.eab } : {}),
  });
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
