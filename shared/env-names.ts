/**
 * Names of the environment variables the functions read. Infra sets them, shared/config reads
 * them: both import these constants so the two sides cannot drift apart.
 */
export const ENV = {
  tableName: 'TASK_TABLE_NAME',
  queueUrl: 'TASK_QUEUE_URL',
  maxBodyBytes: 'MAX_BODY_BYTES',
  retryAfterSeconds: 'RETRY_AFTER_SECONDS',
  defaultMaxAttempts: 'DEFAULT_MAX_ATTEMPTS',
  retryBaseDelaySeconds: 'RETRY_BASE_DELAY_SECONDS',
  retryMaxDelaySeconds: 'RETRY_MAX_DELAY_SECONDS',
  ttlDays: 'TASK_TTL_DAYS',
  maxResultBytes: 'MAX_RESULT_BYTES',
  cancelCheckSeconds: 'CANCEL_CHECK_SECONDS',
  staleAfterSeconds: 'RECOVERY_STALE_AFTER_SECONDS',
  leaseGraceSeconds: 'LEASE_GRACE_SECONDS',
  diagnosticTasks: 'OFFLOAD_DIAGNOSTIC_TASKS',
  /** Comma-separated role ARNs whose sessions each own their tasks; unset when there are none. */
  iamPerSessionRoles: 'OFFLOAD_IAM_PER_SESSION_ROLES',
  /** ARN of the Secrets Manager secret that holds the deployment key (in AWS); never the key itself. */
  deploymentKeySecretArn: 'DEPLOYMENT_KEY_SECRET_ARN',
  /** Path of the file that holds the deployment key (local stack and tests), created on first use. */
  deploymentKeyFile: 'DEPLOYMENT_KEY_FILE',
  /** `true`: task messages carry their owner's MessageGroupId (SQS fair queues). */
  fairQueues: 'OFFLOAD_FAIR_QUEUES',
  /** The fair-share table (owner concurrency slots, submit rate windows); unset when no limit is on. */
  fairShareTableName: 'FAIR_SHARE_TABLE_NAME',
  /** Tasks of one owner RUNNING at once; unset when the deployment-wide limit is off. */
  ownerMaxRunning: 'OWNER_MAX_RUNNING',
  /** Longest wait of a message for a slot of its owner before it looks again, in seconds (settings). */
  ownerWaitMaxSeconds: 'OWNER_WAIT_MAX_SECONDS',
  /** Tasks one owner may submit per window; unset when the submit rate limit is off. */
  submitRateMaxTasks: 'SUBMIT_RATE_MAX_TASKS',
  submitRateWindowSeconds: 'SUBMIT_RATE_WINDOW_SECONDS',
  /** Read by Powertools Logger itself (not by shared/config); set from settings.observability.logLevel. */
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  /** Standard AWS SDK names; set only by the local stack to reach the emulators. */
  dynamodbEndpoint: 'AWS_ENDPOINT_URL_DYNAMODB',
  sqsEndpoint: 'AWS_ENDPOINT_URL_SQS',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
