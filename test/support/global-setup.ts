import { ensureLocalPrerequisites } from '../../lib/local/prerequisites';

/**
 * The end-to-end and adapter tests run real Pebble and BIND: install them when missing (as root,
 * like `npm run local`), otherwise fail with the command to run.
 */
export default async function globalSetup(): Promise<void> {
  await ensureLocalPrerequisites({ install: true, log: (line: string) => process.stderr.write(`${line}\n`) });
}
