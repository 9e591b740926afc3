import { TEST_WAIT_VARIABLE } from '../../local/wait-override';
import globalSetup from './global-setup';

/**
 * Milliseconds every Wait state of a whole local run pauses in the e2e tier (WaitForPropagation,
 * WaitForOrder: 1 s each in local mode's timing, once per check). Long enough that a check still
 * finds what a real pause would (Pebble validates at once, BIND answers at once).
 */
export const E2E_WAIT_MS = 100;

/**
 * The servers' setup (./global-setup.ts), and Wait states shortened through aws-local-stepfunctions'
 * own `waitTimeOverrides` (local/wait-override.ts): set here, before the workers start, so every
 * test process and every CLI process a test starts inherits it.
 */
export default async function globalSetupE2e(): Promise<void> {
  process.env[TEST_WAIT_VARIABLE] ??= String(E2E_WAIT_MS);
  await globalSetup();
}
