import type { AslDefinition } from '../../lib/state-machine/asl';
import { type ExecuteOptions, executeLocally } from '../../local/execute';
import { TEST_WAIT_VARIABLE, testWaitOverrides } from '../../local/wait-override';

/**
 * The test suite's shortened Wait states (CERTFLOW_TEST_WAIT_MS, set for the e2e tier): every
 * Wait state, nested ones included, pauses the given milliseconds through aws-local-stepfunctions'
 * `waitTimeOverrides`; unset, a Wait state waits as the definition says.
 */
const DEFINITION: AslDefinition = {
  StartAt: 'WaitLong',
  States: {
    WaitLong: { Type: 'Wait', Seconds: 60, Next: 'Each' },
    Each: {
      Type: 'Map',
      ItemsPath: '$.items',
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: 'WaitForItem',
        States: { WaitForItem: { Type: 'Wait', SecondsPath: '$.seconds', End: true } },
      },
      End: true,
    },
  },
};
const INPUT = { items: [{ seconds: 60 }, { seconds: 120 }] };
const NO_FUNCTIONS = {} as ExecuteOptions['functions'];

describe('shortened Wait states for the test suite', () => {
  const saved = process.env[TEST_WAIT_VARIABLE];
  afterEach(() => {
    if (saved === undefined) delete process.env[TEST_WAIT_VARIABLE];
    else process.env[TEST_WAIT_VARIABLE] = saved;
  });

  it('names every Wait state, inside Map item processors too', () => {
    expect(testWaitOverrides(DEFINITION, { [TEST_WAIT_VARIABLE]: '25' })).toEqual({
      WaitLong: 25,
      WaitForItem: 25,
    });
    expect(testWaitOverrides(DEFINITION, {})).toBeUndefined();
  });

  it('rejects a value that is not whole milliseconds, naming the variable', () => {
    expect(() => testWaitOverrides(DEFINITION, { [TEST_WAIT_VARIABLE]: '1.5s' })).toThrow(
      /CERTFLOW_TEST_WAIT_MS=1\.5s is not a whole number of milliseconds; unset it/,
    );
  });

  it('set: a run through minutes of Wait states ends at once, each Wait state still entered and left', async () => {
    process.env[TEST_WAIT_VARIABLE] = '0';
    const run = await executeLocally(DEFINITION, INPUT, { functions: NO_FUNCTIONS });
    expect(run.status).toBe('SUCCEEDED');
    const waits = run.events.filter(
      (e) => (e.type === 'StateEntered' || e.type === 'StateExited') && e.state.type === 'Wait',
    );
    expect(waits.map((e) => (e.type === 'StateExited' ? `${e.state.name} left` : ''))).toEqual(
      expect.arrayContaining(['WaitLong left', 'WaitForItem left']),
    );
    expect(waits).toHaveLength(6); // WaitLong and two WaitForItem, each entered and left
  });

  it('unset: a Wait state waits as the definition says', async () => {
    delete process.env[TEST_WAIT_VARIABLE];
    const stop = new AbortController();
    const entered: string[] = [];
    const run = executeLocally(DEFINITION, INPUT, {
      functions: NO_FUNCTIONS,
      signal: stop.signal,
      onEvent: (e) => {
        if (e.type === 'StateEntered' || e.type === 'StateExited') entered.push(`${e.type} ${e.state.name}`);
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    stop.abort();
    const ended = await run;
    expect(entered).toEqual(['StateEntered WaitLong']);
    expect(ended.status).toBe('ABORTED');
  });
});
