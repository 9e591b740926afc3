import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateStoreError, describeError, errorText } from '../../lambdas/core/errors';
import { redact } from '../../lambdas/core/logger';

/** A real OS error, as Node's fs raises it. */
const enotdir = async (): Promise<unknown> => {
  const file = join(tmpdir(), `certflow-errors-${process.pid}`);
  await fsp.writeFile(file, '');
  try {
    return await fsp.mkdir(join(file, 'sub')).catch((e: unknown) => e);
  } finally {
    await fsp.rm(file);
  }
};

describe('error descriptions keep the root cause', () => {
  it('errorText keeps the OS code, system call and path', async () => {
    const file = join(tmpdir(), `certflow-errors-${process.pid}`);
    expect(errorText(await enotdir())).toBe(`ENOTDIR: not a directory, mkdir '${join(file, 'sub')}'`);
    expect(errorText(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(
      'ECONNRESET: socket hang up',
    );
  });

  it('describeError appends each cause the message does not already contain', async () => {
    const os = await enotdir();
    const wrapped = new CertificateStoreError('storing www in local failed', { cause: os });
    expect(describeError(wrapped)).toBe(
      `CertificateStoreError: storing www in local failed; caused by Error: ${errorText(os)}`,
    );
    const already = new CertificateStoreError(`storing www in local failed: ${errorText(os)}`, { cause: os });
    expect(describeError(already)).toBe(
      `CertificateStoreError: storing www in local failed: ${errorText(os)}`,
    );
    expect(describeError('plain')).toBe('plain');
  });

  it('the logger keeps the code and the cause chain of an error field, redacted', async () => {
    const wrapped = new CertificateStoreError('storing failed', {
      cause: Object.assign(new Error('-----BEGIN PRIVATE KEY-----abc-----END PRIVATE KEY----- EACCES'), {
        code: 'EACCES',
      }),
    });
    expect(redact(wrapped)).toEqual({
      name: 'CertificateStoreError',
      message: 'storing failed',
      cause: { name: 'Error', message: '[redacted PEM] EACCES', code: 'EACCES' },
    });
  });
});
