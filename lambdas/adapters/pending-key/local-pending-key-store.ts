/**
 * Pending certificate keys on the local file system (local mode): one 0600 JSON file per
 * certificate, `<state directory>/pending-keys/<certificate>.json` = `{certificate, orderUrl,
 * keyPem}`, written atomically (temporary file, fsync, rename, directory fsync), so a crash
 * leaves either the old file or the new one.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { PendingKeyStoreError } from '../../core/errors';
import type { PendingKeyStore } from '../../core/ports';

export interface LocalPendingKeyStoreOptions {
  /** The local state directory; files go to `<directory>/pending-keys/`. */
  directory: string;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const CERTIFICATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** {@link PendingKeyStore} in 0600 files under the local state directory. */
export class LocalPendingKeyStore implements PendingKeyStore {
  private readonly keysDirectory: string;

  constructor(options: LocalPendingKeyStoreOptions) {
    this.keysDirectory = join(resolve(options.directory), 'pending-keys');
  }

  /** The file that holds the pending key of `certificate`. */
  fileFor(certificate: string): string {
    if (!CERTIFICATE_NAME.test(certificate)) {
      throw new PendingKeyStoreError(
        `"${certificate}" cannot name a pending-key file (letters, digits, ".", "_", "-"; not starting with ".")`,
      );
    }
    return join(this.keysDirectory, `${certificate}.json`);
  }

  /**
   * The key saved for `certificate` and `orderUrl`; undefined when there is none or it belongs to
   * another order.
   * @throws PendingKeyStoreError when the file exists but cannot be read or parsed (never quoting it).
   */
  async load(certificate: string, orderUrl: string): Promise<string | undefined> {
    const file = this.fileFor(certificate);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return undefined;
      throw new PendingKeyStoreError(`cannot read the pending key file ${file} (${codeOf(error)})`, {
        cause: error,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // No cause: JSON.parse messages quote the text, which holds the key.
      throw new PendingKeyStoreError(`the pending key file ${file} is not valid JSON; delete it`);
    }
    const { orderUrl: saved, keyPem } = (parsed ?? {}) as { orderUrl?: unknown; keyPem?: unknown };
    if (typeof saved !== 'string' || typeof keyPem !== 'string' || keyPem === '') {
      throw new PendingKeyStoreError(
        `the pending key file ${file} does not hold {orderUrl, keyPem}; delete it`,
      );
    }
    return saved === orderUrl ? keyPem : undefined;
  }

  /** Save the key for `orderUrl`, replacing any other, atomically. */
  async save(certificate: string, orderUrl: string, keyPem: string): Promise<void> {
    const file = this.fileFor(certificate);
    const temp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      await fs.mkdir(this.keysDirectory, { recursive: true, mode: DIR_MODE });
      await fs.chmod(this.keysDirectory, DIR_MODE);
      const handle = await fs.open(temp, 'wx', FILE_MODE);
      try {
        await handle.writeFile(`${JSON.stringify({ certificate, orderUrl, keyPem })}\n`);
        await handle.chmod(FILE_MODE);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, file);
      await syncDirectory(this.keysDirectory);
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw new PendingKeyStoreError(
        `cannot save the pending key of ${certificate} to ${file} (${codeOf(error)})`,
        { cause: error },
      );
    }
  }

  /** Remove the certificate's pending key file (a missing file is fine). */
  async clear(certificate: string): Promise<void> {
    const file = this.fileFor(certificate);
    try {
      await fs.rm(file, { force: true });
    } catch (error) {
      throw new PendingKeyStoreError(`cannot remove the pending key file ${file} (${codeOf(error)})`, {
        cause: error,
      });
    }
  }
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await fs.open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}
