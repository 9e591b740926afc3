/**
 * FOR TESTS ONLY, never for a real run: shortened Wait states. The tests of whole local runs set
 * {@link TEST_WAIT_VARIABLE} to a number of milliseconds, and every Wait state of the definition
 * (WaitForPropagation, WaitForOrder) then pauses that long instead of its `SecondsPath`, through
 * aws-local-stepfunctions' own `waitTimeOverrides` run option. The state machine, its events and
 * its history are otherwise unchanged: each Wait state is still entered and left once per check.
 * Unset (as everywhere but the test suite), Wait states wait as the definition says.
 */
import { type AslDefinition, statesOfType } from '../lib/state-machine/asl';

/** The environment variable the test suite sets (test/support/global-setup-e2e.ts). */
export const TEST_WAIT_VARIABLE = 'CERTFLOW_TEST_WAIT_MS';

/**
 * `waitTimeOverrides` for `definition`'s Wait states when {@link TEST_WAIT_VARIABLE} is set,
 * otherwise undefined (the definition's own durations).
 */
export function testWaitOverrides(
  definition: AslDefinition,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, number> | undefined {
  const raw = env[TEST_WAIT_VARIABLE];
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0) {
    throw new Error(
      `${TEST_WAIT_VARIABLE}=${raw} is not a whole number of milliseconds; unset it (it is for the test suite only)`,
    );
  }
  return Object.fromEntries(statesOfType(definition, 'Wait').map(([name]) => [name, ms]));
}
