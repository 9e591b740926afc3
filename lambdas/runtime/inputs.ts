import * as z from 'zod/mini';
import '../core/zod-messages';
import { InvalidInputError } from '../core/errors';
import type { CertificateItem, RunInput, SummarizeInput, SweepInput } from '../core/state';

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
});

const summarizeInput = z.looseObject({
  selection: z.looseObject({ runId: z.string(), skipped: z.array(z.unknown()) }),
  results: z.array(z.unknown()),
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

/** A renewal run's input: `{}` or `{"certificates": ["name"], "force": true}`. */
export const parseRunInput = parser<RunInput>(
  runInput,
  'run input',
  'start a run with {} or {"certificates": ["name"], "force": true}',
);
/** The per-certificate item the Map passes to each Task. */
export const parseCertificateItem = parser<CertificateItem>(
  certificateItem,
  'certificate state',
  'this state is produced by the IssueEach Map; do not start this function by hand',
);
/** Summarize's input: the selection and the Map's results. */
export const parseSummarizeInput = parser<SummarizeInput>(
  summarizeInput,
  'summary input',
  'this state is produced by the IssueEach Map; do not start this function by hand',
);
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
