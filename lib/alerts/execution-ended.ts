/**
 * The alert for an execution that ended FAILED, TIMED_OUT or ABORTED: what the EventBridge rule
 * on the state machine's "Step Functions Execution Status Change" events sends to the alerts
 * topic (an input transformer over the event's `detail`), and what local mode writes to its
 * alert file when a local execution ends that way. One template serves both, so the wording a
 * local run shows is the wording operators get.
 */

/** The event fields the message uses (EventBridge input paths into the event). */
export const EXECUTION_ENDED_FIELDS = {
  name: '$.detail.name',
  status: '$.detail.status',
  executionArn: '$.detail.executionArn',
  stateMachineArn: '$.detail.stateMachineArn',
  stopDate: '$.detail.stopDate',
} as const;

export type ExecutionEndedField = keyof typeof EXECUTION_ENDED_FIELDS;

/** The message, as text with `<field>` placeholders (EventBridge input-template syntax). */
export const EXECUTION_ENDED_TEMPLATE = [
  'certflow: renewal run <name> ended <status>.',
  'Execution: <executionArn>',
  'A run with failed certificates ends FAILED after its summary alert; any other FAILED, TIMED_OUT or ABORTED run ended without finishing, and certificates it had not reached were not renewed.',
  'Open the execution in the Step Functions console (or `aws stepfunctions get-execution-history --execution-arn <executionArn>`) to see the last state and its error.',
].join('\n');

/** Fill the template with an execution's values (local mode). */
export function executionEndedMessage(values: Record<ExecutionEndedField, string>): string {
  return EXECUTION_ENDED_TEMPLATE.replace(/<(\w+)>/g, (match, field: string) =>
    field in values ? values[field as ExecutionEndedField] : match,
  );
}

/** The statuses the rule matches. */
export const ALERTED_EXECUTION_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
