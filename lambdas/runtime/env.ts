/**
 * The environment contract between the CDK stack (lib/) and the Lambda runtime (lambdas/).
 * The stack sets these; `lambdas/runtime/runtime.ts` reads them once per cold start.
 */
export const ENV = {
  /** The validated configuration as JSON (no secrets in it, by schema). */
  config: 'CERTFLOW_CONFIG',
  /** Path to the configuration file (local mode; used when CERTFLOW_CONFIG is unset). */
  configFile: 'CERTFLOW_CONFIG_FILE',
  /** The Task step this function serves (one of TASK_STEPS). */
  step: 'CERTFLOW_STEP',
  /** `aws` (default in Lambda) or `local`. */
  mode: 'CERTFLOW_MODE',
  /**
   * Prefix of the secrets the functions create at run time: `<prefix>/acme-account/<hash>` (one
   * ACME account per directory), `<prefix>/pending-key/<certificate>` (the key of an order being
   * finalized).
   */
  secretNamePrefix: 'CERTFLOW_SECRET_NAME_PREFIX',
  /** KMS key for those secrets (unset: the account's aws/secretsmanager key). */
  secretsKmsKeyId: 'CERTFLOW_SECRETS_KMS_KEY_ID',
  /** SNS topic for alerts (and the action of the ACM expiry alarms FinalizeAndStore puts). */
  topicArn: 'CERTFLOW_TOPIC_ARN',
  /** Name prefix of the ACM expiry alarms FinalizeAndStore puts (`<prefix><certificate>`). */
  alarmNamePrefix: 'CERTFLOW_ALARM_NAME_PREFIX',
  /** Hosted zone id of the delegated zone (overrides config; set when the stack creates the zone). */
  hostedZoneId: 'CERTFLOW_HOSTED_ZONE_ID',
  /** Secrets Manager secret holding the EAB HMAC key (when the CA needs EAB). */
  eabSecretArn: 'CERTFLOW_EAB_SECRET_ARN',
  /** DynamoDB table of pending TXT values (written, not yet removed). */
  pendingTable: 'CERTFLOW_PENDING_TABLE',
  /** Local mode: state directory (account keys). */
  stateDirectory: 'CERTFLOW_STATE_DIR',
  /** Local mode: file that handler logs and alerts are appended to. */
  logFile: 'CERTFLOW_LOG_FILE',
  /**
   * Local mode: file the functions' metrics are appended to, as CloudWatch embedded metric format
   * lines (in Lambda they go to standard output, where CloudWatch Logs extracts them).
   */
  metricsFile: 'CERTFLOW_METRICS_FILE',
} as const;

/** Entry file of each Task step's handler, relative to the repository root. */
export const HANDLER_ENTRIES = {
  SelectDue: 'lambdas/handlers/select-due.ts',
  CreateOrder: 'lambdas/handlers/create-order.ts',
  PublishRecords: 'lambdas/handlers/publish-records.ts',
  CheckPropagation: 'lambdas/handlers/check-propagation.ts',
  AnswerChallenges: 'lambdas/handlers/answer-challenges.ts',
  CheckOrder: 'lambdas/handlers/check-order.ts',
  FinalizeAndStore: 'lambdas/handlers/finalize-and-store.ts',
  Cleanup: 'lambdas/handlers/cleanup.ts',
  RecordFailure: 'lambdas/handlers/record-failure.ts',
  Summarize: 'lambdas/handlers/summarize.ts',
} as const;
