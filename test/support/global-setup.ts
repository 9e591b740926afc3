import { randomUUID } from 'node:crypto';
import { ensureLocalPrerequisites, LOCAL_PROGRAMS, RFC2136_TEST_PROGRAMS } from '../../local/prerequisites';
import { SESSION_VARIABLE } from './processes';

/**
 * The end-to-end and adapter tests run real Pebble and BIND, and the rfc2136 tests also Knot DNS
 * and PowerDNS: install them when missing (as root, like `npm run local`), otherwise fail with
 * the command to run. Marks the session's processes (see ./processes.ts and ./global-teardown.ts).
 */
export default async function globalSetup(): Promise<void> {
  // Every process the tests start inherits this mark; the global teardown looks for survivors.
  process.env[SESSION_VARIABLE] ??= randomUUID();
  await ensureLocalPrerequisites({
    install: true,
    programs: [...LOCAL_PROGRAMS, ...RFC2136_TEST_PROGRAMS],
    log: (line: string) => process.stderr.write(`${line}\n`),
  });
}
