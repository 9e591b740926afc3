import { HISTORY_EVENT_LIMIT, PAYLOAD_LIMIT_BYTES } from '../../lambdas/core/execution-limits';
import { type ScaleRecord, scaleViolations } from '../../scripts/bench/scale-check';

/**
 * `npm run bench` fails (exit 1, after printing) when its local run of 1,000 certificates did not
 * exit 0 or an execution went over Step Functions' quotas (25,000 history events, 256 KiB
 * payload), naming each; at the limits exactly it passes.
 */
describe('bench: the checks of the 1,000-certificate run', () => {
  const batch = { historyEvents: 12_000, certificates: 200, largestPayload: 40_000 };
  const within: ScaleRecord = {
    historyEvents: HISTORY_EVENT_LIMIT,
    batches: [batch, { ...batch, historyEvents: HISTORY_EVENT_LIMIT, largestPayload: PAYLOAD_LIMIT_BYTES }],
    largestPayload: { bytes: PAYLOAD_LIMIT_BYTES, state: 'Summarize' },
  };

  it('passes a run that exited 0 with every execution at or under its limits', () => {
    expect(HISTORY_EVENT_LIMIT).toBe(25_000);
    expect(PAYLOAD_LIMIT_BYTES).toBe(262_144);
    expect(scaleViolations(0, within)).toEqual([]);
  });

  it('names each failure: the exit code, the execution over 25,000 events, the payload over 262,144 bytes', () => {
    const over: ScaleRecord = {
      historyEvents: 25_001,
      batches: [batch, { ...batch, historyEvents: 25_400 }],
      largestPayload: { bytes: 262_145, state: 'IssueBatches' },
    };
    expect(scaleViolations(1, over)).toEqual([
      'the local run of 1,000 certificates exited 1, not 0',
      'the run execution has 25001 history events, over the limit of 25000',
      'batch execution 2 has 25400 history events, over the limit of 25000',
      'the largest state payload is 262145 bytes (IssueBatches), over the limit of 262144',
    ]);
    expect(scaleViolations(null, within)).toEqual([
      'the local run of 1,000 certificates was killed by a signal (no exit code)',
    ]);
  });
});
