/**
 * The bench's checks of the local run of 1,000 certificates (not timing): it must exit 0, and
 * each execution stay within Step Functions' quotas, counted as AWS counts them.
 */
import { HISTORY_EVENT_LIMIT, PAYLOAD_LIMIT_BYTES } from '../../lambdas/core/execution-limits';

/** What the bench reads of the run's `execution.json` (local/run-local.ts ExecutionRecord). */
export interface ScaleRecord {
  historyEvents: number;
  batches: { historyEvents: number; certificates: number; largestPayload: number; status?: string }[];
  largestPayload: { bytes: number; state: string };
}

/**
 * Whether the local 1,000-certificate run held: exit code 0, each execution's AWS-counted history
 * events within {@link HISTORY_EVENT_LIMIT} and the largest state payload within
 * {@link PAYLOAD_LIMIT_BYTES}. Returns what did not, one line each.
 */
export function scaleViolations(exitCode: number | null, record: ScaleRecord): string[] {
  const found: string[] = [];
  if (exitCode === null)
    found.push('the local run of 1,000 certificates was killed by a signal (no exit code)');
  else if (exitCode !== 0) found.push(`the local run of 1,000 certificates exited ${exitCode}, not 0`);
  if (record.historyEvents > HISTORY_EVENT_LIMIT) {
    found.push(
      `the run execution has ${record.historyEvents} history events, over the limit of ${HISTORY_EVENT_LIMIT}`,
    );
  }
  record.batches.forEach((b, i) => {
    if (b.historyEvents > HISTORY_EVENT_LIMIT) {
      found.push(
        `batch execution ${i + 1} has ${b.historyEvents} history events, over the limit of ${HISTORY_EVENT_LIMIT}`,
      );
    }
  });
  if (record.largestPayload.bytes > PAYLOAD_LIMIT_BYTES) {
    found.push(
      `the largest state payload is ${record.largestPayload.bytes} bytes (${record.largestPayload.state}), over the limit of ${PAYLOAD_LIMIT_BYTES}`,
    );
  }
  return found;
}
