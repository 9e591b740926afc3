import {
  ensureLocalPrerequisites,
  LOCAL_PROGRAMS,
  RFC2136_TEST_PROGRAMS,
} from '../../lib/local/prerequisites';

/**
 * The end-to-end and adapter tests run real Pebble and BIND, and the rfc2136 tests also Knot DNS
 * and PowerDNS: install them when missing (as root, like `npm run local`), otherwise fail with
 * the command to run.
 */
export default async function globalSetup(): Promise<void> {
  await ensureLocalPrerequisites({
    install: true,
    programs: [...LOCAL_PROGRAMS, ...RFC2136_TEST_PROGRAMS],
    log: (line: string) => process.stderr.write(`${line}\n`),
  });
}
