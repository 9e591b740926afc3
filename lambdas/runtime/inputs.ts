import * as z from 'zod/mini';
import '../core/zod-messages';
import { InvalidInputError } from '../core/errors';
import type {
  BatchFailure,
  BatchSummarizeInput,
  CertificateItem,
  RunInput,
  SummarizeInput,
  SweepInput,
} from '../core/state';

// zod/mini: the same checks and messages as zod's chained API, at a fraction of the cold-start cost.
const nonEmpty = () => z.string().check(z.minLength(1));
const errorShape = z.looseObject({ Error: z.string(), Cause: z.optional(z.string()) });

const certificateItem = z.looseObject({
  certificate: nonEmpty(),
  runId: nonEmpty(),
  accountUrl: nonEmpty(),
  timing: z.object({
    propagationIntervalSeconds: z.number(),
    propagationMaxChecks: z.number(),
    orderIntervalSeconds: z.number(),
    orderMaxChecks: z.number(),
  }),
  error: z.optional(errorShape),
  cleanupError: z.optional(errorShape),
});

const failureInput = z.looseObject({
  certificate: nonEmpty(),
  failedStep: z.optional(z.string()),
  error: z.optional(errorShape),
  cleanupError: z.optional(errorShape),
});

const runInput = z.strictObject({
  certificates: z.optional(z.array(z.string())),
  force: z.optional(z.boolean()),
  dryRun: z.optional(z.boolean()),
  executionId: z.optional(nonEmpty()),
});

const summarizeInput = z.looseObject({
  selection: z.looseObject({
    runId: z.string(),
    startedAt: z.string(),
    // each batch's outcome (a BatchSummary or a BatchFailure), in place of its list
    batches: z.array(z.looseObject({})),
    skipped: z.array(z.unknown()),
  }),
});

const batchSummarizeInput = z.looseObject({ summarizeBatch: z.literal(true), results: z.array(z.unknown()) });

const batchFailureInput = z.looseObject({
  batchFailed: z.literal(true),
  certificates: z.array(z.string()),
  error: z.looseObject({ Error: z.string() }),
});

function parser<T>(schema: z.ZodMiniType, what: string, fix: string): (raw: unknown) => T {
  return (raw: unknown): T => {
    const result = schema.safeParse(raw ?? {});
    if (!result.success) {
      const problems = result.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw new InvalidInputError(`${what} is malformed (${problems}); ${fix}`);
    }
    return raw as T;
  };
}

const parseBareRunInput = parser<RunInput>(
  runInput,
  'run input',
  'start a run with {} or {"certificates": ["name"], "force": true, "dryRun": true}',
);
/**
 * A renewal run's input. The state machine hands SelectDue `{run: <execution input>,
 * executionId: $$.Execution.Id}`, so its log lines name the execution; a direct invocation may
 * pass the bare input.
 */
export function parseRunInput(raw: unknown): RunInput {
  const wrapped = raw as { run?: unknown; executionId?: unknown } | null;
  if (
    wrapped !== null &&
    typeof wrapped === 'object' &&
    'run' in wrapped &&
    typeof wrapped.executionId === 'string' &&
    Object.keys(wrapped).length === 2
  ) {
    return { ...parseBareRunInput(wrapped.run), executionId: wrapped.executionId };
  }
  return parseBareRunInput(raw);
}
/** The per-certificate item the Map passes to each Task. */
export const parseCertificateItem = parser<CertificateItem>(
  certificateItem,
  'certificate state',
  'this state is produced by the IssueEach Map; do not start this function by hand',
);
/** Summarize's input: the selection and every batch's summary. */
export const parseSummarizeInput = parser<SummarizeInput>(
  summarizeInput,
  'summary input',
  'this state is produced by the IssueBatches Map; do not start this function by hand',
);

/** SummarizeBatch's input: one batch's Map results. */
export const parseBatchSummarizeInput = parser<BatchSummarizeInput>(
  batchSummarizeInput,
  'batch summary input',
  'this state is produced by the IssueEach Map of a batch; do not start this function by hand',
);

/** BatchFailed's input: a failed batch's certificates and the Catch's `{Error, Cause}`. */
export const parseBatchFailureInput = parser<BatchFailure>(
  batchFailureInput,
  'failed batch input',
  'this state is produced by the Catch of RunBatch in the IssueBatches Map; do not start this function by hand',
);

/**
 * The Summarize function's input: a batch's results (SummarizeBatch), a failed batch
 * (BatchFailed) or the run's (Summarize).
 */
export function parseAnySummarizeInput(raw: unknown): SummarizeInput | BatchSummarizeInput | BatchFailure {
  const mode = raw as { summarizeBatch?: unknown; batchFailed?: unknown } | null;
  if (mode?.summarizeBatch === true) return parseBatchSummarizeInput(raw);
  if (mode?.batchFailed === true) return parseBatchFailureInput(raw);
  return parseSummarizeInput(raw);
}
const sweepInput = z.strictObject({
  sweep: z.literal(true),
  executionId: nonEmpty(),
  alsoOver: z.optional(nonEmpty()),
});

/** The run-start sweep's input (the SweepLeftovers state, and local mode when interrupted). */
export const parseSweepInput = parser<SweepInput>(
  sweepInput,
  'sweep input',
  'this input is produced by the SweepLeftovers state; do not start this function by hand',
);

/** Cleanup's input: a certificate item (Cleanup, CleanupAfterFailure) or a sweep (SweepLeftovers). */
export function parseCleanupInput(raw: unknown): CertificateItem | SweepInput {
  return (raw as { sweep?: unknown } | null)?.sweep === true
    ? parseSweepInput(raw)
    : parseCertificateItem(raw);
}

/** RecordFailure's input: a certificate item after a Catch, or the run-level failure record. */
export const parseFailureInput = parser<CertificateItem>(
  failureInput,
  'failure record',
  'this state is produced by a Catch in the state machine; do not start this function by hand',
);
