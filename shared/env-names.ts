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
  /**
   * JSON: every lane's queue URLs and sweep stale time (`LaneTable`, shared/lanes.ts); unset on a
   * deployment without it, which then has the default lane alone, on TASK_QUEUE_URL.
   */
  lanes: 'OFFLOAD_LANES',
  diagnosticTasks: 'OFFLOAD_DIAGNOSTIC_TASKS',
  /** Comma-separated role ARNs whose sessions each own their tasks; unset when there are none. */
  iamPerSessionRoles: 'OFFLOAD_IAM_PER_SESSION_ROLES',
  /** ARN of the Secrets Manager secret that holds the deployment key (in AWS); never the key itself. */
  deploymentKeySecretArn: 'DEPLOYMENT_KEY_SECRET_ARN',
  /** Path of the file that holds the deployment key (local stack and tests), created on first use. */
  deploymentKeyFile: 'DEPLOYMENT_KEY_FILE',
  /** The completion callbacks' delivery queue; unset where callbacks are not wired (callbackUrl is then refused). */
  callbackQueueUrl: 'CALLBACK_QUEUE_URL',
  callbackRequestTimeoutSeconds: 'CALLBACK_REQUEST_TIMEOUT_SECONDS',
  callbackMaxResponseBytes: 'CALLBACK_MAX_RESPONSE_BYTES',
  callbackRetryBaseDelaySeconds: 'CALLBACK_RETRY_BASE_DELAY_SECONDS',
  callbackRetryMaxDelaySeconds: 'CALLBACK_RETRY_MAX_DELAY_SECONDS',
  callbackDeliveryWindowSeconds: 'CALLBACK_DELIVERY_WINDOW_SECONDS',
  /** Comma-separated key versions, the current first (settings.callbacks.signingKeyVersions); no key material. */
  callbackSigningKeyVersions: 'CALLBACK_SIGNING_KEY_VERSIONS',
  /** `true` only in the local stack started with --allow-local-callbacks: http and loopback URLs. */
  allowLocalCallbacks: 'OFFLOAD_ALLOW_LOCAL_CALLBACKS',
  /** The schedule table; unset where no function needs it. */
  scheduleTableName: 'SCHEDULE_TABLE_NAME',
  maxSchedulesPerOwner: 'MAX_SCHEDULES_PER_OWNER',
  maxRunAtDays: 'MAX_RUN_AT_DAYS',
  runAtQueueDelayMaxSeconds: 'RUN_AT_QUEUE_DELAY_MAX_SECONDS',
  /** Where the API puts schedules and what they invoke (the API alone gets these). */
  scheduleGroupName: 'SCHEDULE_GROUP_NAME',
  scheduleTargetArn: 'SCHEDULE_TARGET_ARN',
  scheduleRoleArn: 'SCHEDULE_ROLE_ARN',
  scheduleDeadLetterQueueArn: 'SCHEDULE_DEAD_LETTER_QUEUE_ARN',
  scheduleRetryAttempts: 'SCHEDULE_RETRY_ATTEMPTS',
  scheduleMaxEventAgeSeconds: 'SCHEDULE_MAX_EVENT_AGE_SECONDS',
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
  schedulerEndpoint: 'AWS_ENDPOINT_URL_SCHEDULER',
  /** The task data bucket (payloads, results and files too large for a task's item); unset: everything stays inline. */
  taskDataBucket: 'TASK_DATA_BUCKET',
  taskDataInlineMaxBytes: 'TASK_DATA_INLINE_MAX_BYTES',
  taskDataMaxObjectBytes: 'TASK_DATA_MAX_OBJECT_BYTES',
  taskDataUploadUrlSeconds: 'TASK_DATA_UPLOAD_URL_SECONDS',
  taskDataDownloadUrlSeconds: 'TASK_DATA_DOWNLOAD_URL_SECONDS',
  taskDataMaxArtifacts: 'TASK_DATA_MAX_ARTIFACTS',
  /** Standard AWS SDK name; set only by the local stack (fauxqs serves S3 on its SQS port, path-style). */
  s3Endpoint: 'AWS_ENDPOINT_URL_S3',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
