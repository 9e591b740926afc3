/**
 * CA answers that failed verification, kept as files for inspection in local mode:
 * `<state>/rejected/<certificate>-<time>.pem`, the answer byte for byte (public certificates,
 * never a key), and beside it `<…>.txt` saying why and for which order.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RejectedCertificate, RejectedCertificateStore } from '../../../core/ports';

export class LocalRejectedCertificates implements RejectedCertificateStore {
  constructor(private readonly options: { directory: string; now?: () => Date }) {}

  async keep(rejected: RejectedCertificate): Promise<string> {
    await mkdir(this.options.directory, { recursive: true, mode: 0o700 });
    const stamp = (this.options.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
    const base = join(this.options.directory, `${rejected.certificate}-${stamp}`);
    await writeFile(`${base}.pem`, rejected.answer, { mode: 0o644 });
    await writeFile(
      `${base}.txt`,
      `certificate: ${rejected.certificate}\norder: ${rejected.orderUrl}\nnot stored: ${rejected.problem}\n`,
      { mode: 0o644 },
    );
    return `${base}.pem`;
  }
}
