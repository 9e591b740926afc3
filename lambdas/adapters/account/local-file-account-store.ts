/**
 * ACME account store on the local file system (local mode): one file per ACME directory URL
 * (RFC 8555 §7.3: an account belongs to one server), at
 * `<dir>/accounts/<first 16 hex of sha256(directoryUrl)>.json`, mode 0600, written atomically.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { AccountStoreError } from '../../core/errors';
import type { AccountStore, AcmeAccount } from '../../core/ports';

export interface LocalFileAccountStoreOptions {
  /** The local state directory; account files go to `<directory>/accounts/`. */
  directory: string;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** {@link AccountStore} keeping each account's key and URL in its own 0600 JSON file. */
export class LocalFileAccountStore implements AccountStore {
  private readonly accountsDirectory: string;

  constructor(options: LocalFileAccountStoreOptions) {
    this.accountsDirectory = join(resolve(options.directory), 'accounts');
  }

  /** The file that holds the account for `directoryUrl`. */
  fileFor(directoryUrl: string): string {
    const digest = createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16);
    return join(this.accountsDirectory, `${digest}.json`);
  }

  /**
   * The account for `directoryUrl`, or `undefined` when none was saved.
   * @throws AccountStoreError when the file exists but cannot be read or is not a valid account
   *   (the message names the file, never its content).
   */
  async load(directoryUrl: string): Promise<AcmeAccount | undefined> {
    const file = this.fileFor(directoryUrl);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return undefined;
      throw new AccountStoreError(`cannot read the ACME account file ${file}`, { cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // No cause: JSON.parse messages quote the text, which holds the account key.
      throw new AccountStoreError(`the ACME account file ${file} is not valid JSON`);
    }
    const account = asAccount(json);
    if (!account) {
      throw new AccountStoreError(
        `the ACME account file ${file} must hold {"directoryUrl": string, "keyPem": string, "accountUrl"?: string}`,
      );
    }
    if (account.directoryUrl !== directoryUrl) {
      throw new AccountStoreError(
        `the ACME account file ${file} belongs to ${account.directoryUrl}, not ${directoryUrl}`,
      );
    }
    return account;
  }

  /**
   * Save (create or replace) the account for `account.directoryUrl`: the JSON is written to a
   * temporary 0600 file in the same directory, fsynced, and renamed over the old file.
   * @throws AccountStoreError when writing fails; the previous file is then unchanged.
   */
  async save(account: AcmeAccount): Promise<void> {
    const file = this.fileFor(checkAccount(account).directoryUrl);
    await this.write(account, file, (temp) => fs.rename(temp, file));
  }

  /**
   * Create the account file only if there is none: the complete file is written under a
   * temporary name and hard-linked to its final name, which fails with EEXIST when another
   * process got there first (atomic on POSIX file systems; readers never see a partial file).
   * Returns the account now stored: this one, or the winner's.
   * @throws AccountStoreError when writing or re-reading fails.
   */
  async saveIfAbsent(account: AcmeAccount): Promise<AcmeAccount> {
    const file = this.fileFor(checkAccount(account).directoryUrl);
    let won = false;
    await this.write(account, file, async (temp) => {
      try {
        await fs.link(temp, file);
        won = true;
      } catch (error) {
        if (!hasCode(error, 'EEXIST')) throw error;
      } finally {
        await fs.rm(temp, { force: true });
      }
    });
    if (won) return contentOf(account);
    const winner = await this.load(account.directoryUrl);
    if (!winner) {
      throw new AccountStoreError(
        `the ACME account file ${file} existed a moment ago but is gone; was it removed while certflow ran?`,
      );
    }
    return winner;
  }

  /** Write the account to a fsynced 0600 temporary file, `publish` it, then fsync the directory. */
  private async write(
    account: AcmeAccount,
    file: string,
    publish: (temp: string) => Promise<void>,
  ): Promise<void> {
    const temp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      await fs.mkdir(this.accountsDirectory, { recursive: true, mode: DIR_MODE });
      await fs.chmod(this.accountsDirectory, DIR_MODE);
      const handle = await fs.open(temp, 'wx', FILE_MODE);
      try {
        await handle.writeFile(`${JSON.stringify(contentOf(account), null, 2)}\n`);
        await handle.chmod(FILE_MODE);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await publish(temp);
      const dir = await fs.open(this.accountsDirectory, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw new AccountStoreError(`cannot save the ACME account for ${account.directoryUrl} to ${file}`, {
        cause: error,
      });
    }
  }
}

function checkAccount(account: AcmeAccount): AcmeAccount {
  if (!account.directoryUrl || !account.keyPem) {
    throw new AccountStoreError('an ACME account needs a directoryUrl and a key');
  }
  return account;
}

/** Only the known fields, in a fixed order. */
function contentOf(account: AcmeAccount): AcmeAccount {
  const content: AcmeAccount = { directoryUrl: account.directoryUrl, keyPem: account.keyPem };
  if (account.accountUrl !== undefined) content.accountUrl = account.accountUrl;
  return content;
}

function asAccount(json: unknown): AcmeAccount | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { directoryUrl, keyPem, accountUrl } = json as Record<string, unknown>;
  if (typeof directoryUrl !== 'string' || typeof keyPem !== 'string' || keyPem === '') return undefined;
  if (accountUrl !== undefined && typeof accountUrl !== 'string') return undefined;
  return accountUrl === undefined ? { directoryUrl, keyPem } : { directoryUrl, keyPem, accountUrl };
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
