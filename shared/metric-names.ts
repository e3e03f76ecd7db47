/**
 * The names operators see: CloudWatch metrics the functions emit (EMF), their dimensions, and the keys
 * of the structured log lines. The functions, the dashboard, the local console and the tests all import
 * these constants, so a renamed metric cannot leave a dashboard widget pointing at nothing.
 */
export const METRICS_NAMESPACE = 'Offload';

/**
 * Value of the `service` dimension Powertools adds to every metric. One value for every function:
 * a task's metrics describe the task system, and TaskCancelled comes from both the API and the worker.
 */
export const METRICS_SERVICE = 'offload';

export const METRIC_DIMENSIONS = {
  /** Added by Powertools to every metric. */
  service: 'service',
  /** Only for registered task types, so a client cannot create metrics by inventing type names. */
  taskType: 'TaskType',
  /** The HTTP API of an access-log metric, as API Gateway's own metrics name it. */
  apiId: 'ApiId',
  /** A task's lane (shared/lanes.ts): bounded by the deployment's lanes, which the API checks. */
  lane: 'Lane',
  /** A task's priority: `normal` or `high`. */
  priority: 'Priority',
} as const;

/**
 * Metrics a metric filter makes from the API's access log (namespace METRICS_NAMESPACE, dimension
 * `ApiId`): HTTP APIs publish no metric of their own for the requests they throttle.
 */
export const ACCESS_LOG_METRICS = {
  /** Requests API Gateway answered 429 (route or account limits). */
  throttled: 'ApiThrottledRequests',
} as const;

/** Counts, one per task event. */
export const TASK_COUNTS = {
  submitted: 'TaskSubmitted',
  started: 'TaskStarted',
  succeeded: 'TaskSucceeded',
  failed: 'TaskFailed',
  retried: 'TaskRetried',
  cancelled: 'TaskCancelled',
  deadLettered: 'TaskDeadLettered',
} as const;

/**
 * Counts of the lifecycle's recovery paths: rare when all is well, so a rise tells an operator that
 * workers crash or time out (takeovers), duplicates or early redeliveries arrive (deferrals), or
 * the table drops replies (writes recognised after a lost reply).
 */
export const RECOVERY_COUNTS = {
  /** A claim took over an attempt whose lease had expired (its worker crashed or timed out). */
  takenOver: 'TaskTakenOver',
  /** A message found its task not claimable yet (live lease, pending retry or delay) and waits. */
  deferred: 'MessageDeferred',
  /** A conditional write whose reply was lost, retried by the SDK, was recognised as our own. */
  writeRecovered: 'WriteRecovered',
} as const;

/** Counts of completion callbacks (functions/callbacks): one per outcome, and per attempt that will be retried. */
export const CALLBACK_COUNTS = {
  delivered: 'CallbackDelivered',
  failed: 'CallbackFailed',
  retried: 'CallbackRetried',
} as const;

/** Durations of completion callbacks, in milliseconds. */
export const CALLBACK_TIMINGS = {
  /** The task's terminal write (`finishedAt`) to the receiver's 2xx: what a caller waits for. */
  latencyMs: 'CallbackLatencyMs',
} as const;

/** Durations in milliseconds. */
export const TASK_TIMINGS = {
  /** One attempt, from claim to its recorded outcome. */
  durationMs: 'TaskDurationMs',
  /** From when a task could first run (its creation plus any delay it asked for) to its first claim. */
  queueWaitMs: 'QueueWaitMs',
} as const;

/** Counts of fair share under load (settings.fairness). */
export const FAIR_SHARE_COUNTS = {
  /** A message found every concurrency slot of its owner taken: it waits, its task stays QUEUED. */
  ownerSlotWait: 'OwnerSlotWait',
  /** A submit request over its owner's rate limit was refused (429): the client's doing, it pages nobody. */
  submitRateLimited: 'SubmitRateLimited',
} as const;

export type TaskCountMetric =
  | (typeof TASK_COUNTS)[keyof typeof TASK_COUNTS]
  | (typeof RECOVERY_COUNTS)[keyof typeof RECOVERY_COUNTS]
  | (typeof CALLBACK_COUNTS)[keyof typeof CALLBACK_COUNTS]
  | (typeof FAIR_SHARE_COUNTS)[keyof typeof FAIR_SHARE_COUNTS];
export type TaskTimingMetric =
  | (typeof TASK_TIMINGS)[keyof typeof TASK_TIMINGS]
  | (typeof CALLBACK_TIMINGS)[keyof typeof CALLBACK_TIMINGS];
export type TaskMetricName = TaskCountMetric | TaskTimingMetric;

export const isTimingMetric = (name: string): name is TaskTimingMetric =>
  ([...Object.values(TASK_TIMINGS), ...Object.values(CALLBACK_TIMINGS)] as string[]).includes(name);

/** Powertools service names, one per function (the `service` key of every log line). */
export const SERVICE_NAMES = {
  api: 'offload-api',
  worker: 'offload-worker',
  deadLetter: 'offload-dead-letter',
  recovery: 'offload-recovery',
  callbacks: 'offload-callbacks',
  scheduleFire: 'offload-schedule-fire',
} as const;

/**
 * Keys of the structured log lines. `ownerHash` stands in for `ownerId`: the owner is a user identity
 * (a JWT subject, an IAM ARN), so logs carry a keyed hash of it (shared/owner-hash.ts), enough to group
 * one owner's lines and to join them with the access log on `requestId`, useless without the deployment key.
 */
export const LOG_KEYS = {
  taskId: 'taskId',
  type: 'type',
  attempt: 'attempt',
  status: 'status',
  messageId: 'messageId',
  requestId: 'requestId',
  ownerHash: 'ownerHash',
  /** The API Gateway route key of a request (`GET /tasks`). */
  routeKey: 'routeKey',
  /** The HTTP status the API answered. */
  statusCode: 'statusCode',
  /** A task error's code; its message is stored with the task, never logged (it may quote the input). */
  errorCode: 'errorCode',
} as const;

/**
 * The fields that name a task on a log line (and, when known, its type, attempt and the SQS message),
 * under the keys of LOG_KEYS: every line about a task can be found by the same query.
 */
export function taskLogFields(
  task: { readonly taskId: string; readonly type?: string; readonly attempt?: number },
  messageId?: string,
): Record<string, string | number> {
  return {
    [LOG_KEYS.taskId]: task.taskId,
    ...(task.type !== undefined && { [LOG_KEYS.type]: task.type }),
    ...(task.attempt !== undefined && { [LOG_KEYS.attempt]: task.attempt }),
    ...(messageId !== undefined && { [LOG_KEYS.messageId]: messageId }),
  };
}

/** The message of the API's one line per request (functions/api/routes.ts). */
export const API_REQUEST_LOG_MESSAGE = 'api request';
