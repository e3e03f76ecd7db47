/**
 * Lanes and priorities, as every part of offload names them. A lane is a queue, a high-priority queue,
 * a dead-letter queue and a worker function of its own, with its own timeout, memory and concurrency
 * (infra/lanes.ts builds them from settings); a task runs in the lane its type names, or the default
 * one, at normal or high priority. The task item stores both, so every path that sends a task's
 * message (submit, retry, recovery sweep, redrive) sends it to the same queue.
 */

/** The lane of every task type that names none: its numbers are `settings.worker`. */
export const DEFAULT_LANE = 'default';

export const TASK_PRIORITIES = ['normal', 'high'] as const;

/** `high` goes to the lane's high-priority queue, whose mapping has a reserved share of the lane's worker. */
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

export const DEFAULT_PRIORITY: TaskPriority = 'normal';

/**
 * The high-priority mapping's share of a lane that sets none (SQS mappings take at least 2): the settings
 * give it to the default lane, and other lanes inherit the default lane's.
 */
export const DEFAULT_HIGH_PRIORITY_CONCURRENCY = 2;

/**
 * What a lane may be called: it becomes part of construct ids, queue names and a metric dimension, so
 * lower-case letters, digits and `-`, starting with a letter, at most 32 characters.
 */
export const LANE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * The numbers of one lane as a deployment writes them (`settings.lanes`, the construct's `lanes`, a task
 * module's `lanes` export). Every field is optional: one left out is the default lane's.
 */
export interface LaneSettings {
  /** Lambda timeout of the lane's worker, 1 to 900 s: the longest one attempt of its tasks may run. */
  readonly timeoutSeconds?: number;
  /** Memory of the lane's worker, 128 to 10,240 MiB (CPU follows it). */
  readonly memoryMiB?: number;
  /** Records per invocation (event source mapping BatchSize); they run side by side. */
  readonly batchSize?: number;
  readonly maxBatchingWindowSeconds?: number;
  /** Standard scaling: concurrent invocations the normal queue's mapping may run (2 to 1,000). */
  readonly maxConcurrency?: number;
  /**
   * Provisioned mode instead of `maxConcurrency` (which it excludes): the mapping keeps between
   * `minimumPollers` (2 to 200, default 2) and `maximumPollers` (2 to 2,000) event pollers, each up to
   * 10 concurrent invocations. Pollers are billed while they exist, traffic or not.
   */
  readonly minimumPollers?: number;
  readonly maximumPollers?: number;
  /**
   * Concurrent invocations of the high-priority queue's mapping, reserved on top of the normal ones:
   * a backlog of normal tasks never takes them (2 to 1,000).
   */
  readonly highPriorityConcurrency?: number;
  /** Retry backoff of the lane's tasks. @default settings.tasks */
  readonly retryBaseDelaySeconds?: number;
  readonly retryMaxDelaySeconds?: number;
  /**
   * How long the recovery sweep waits before it presumes a task of the lane lost. @default the default
   * lane's `recovery.staleAfterSeconds`, scaled by the ratio of the two lanes' dead-letter horizons
   */
  readonly staleAfterSeconds?: number;
  /**
   * The oldest-message alarm of the lane's queues. A running task's message counts as in the queue, so
   * it must exceed the timeout. @default the larger of `observability.alarms.oldestMessageAgeSeconds`
   * and twice the timeout
   */
  readonly oldestMessageAlarmSeconds?: number;
}

/** Lanes by name: what a task module may export as `lanes`, and what the Offload construct takes. */
export type Lanes = Readonly<Record<string, LaneSettings>>;

/** The queue a task's messages go to. */
export interface QueueRoute {
  readonly lane: string;
  readonly priority: TaskPriority;
}

/** What the functions know of one lane at run time (environment `OFFLOAD_LANES`). */
export interface LaneRuntime {
  /** Queue URLs: the lane's normal queue and its high-priority queue. */
  readonly queues: { readonly [P in TaskPriority]: string };
  /**
   * How long the recovery sweep waits before it presumes a task of this lane lost: longer for a lane
   * whose crash-looping messages take longer to reach the dead-letter queue (a longer timeout).
   */
  readonly staleAfterSeconds: number;
}

/** Every lane of a deployment by name; always has {@link DEFAULT_LANE}. */
export type LaneTable = Readonly<Record<string, LaneRuntime>>;

/**
 * The route of a stored task. Items written before lanes existed have neither field: they belong to
 * the default lane at normal priority, where their messages were sent.
 */
export function routeOf(task: { readonly lane?: string; readonly priority?: TaskPriority }): QueueRoute {
  return { lane: task.lane ?? DEFAULT_LANE, priority: task.priority ?? DEFAULT_PRIORITY };
}

/**
 * The queue URL of `route`. A lane the deployment no longer has (removed while tasks of it were still
 * unfinished) falls back to the default lane at the same priority: the task then runs, or times out
 * visibly, instead of waiting forever for a queue that is gone.
 */
export function queueUrlOf(lanes: LaneTable, route: QueueRoute): string {
  const lane = lanes[route.lane] ?? lanes[DEFAULT_LANE];
  if (!lane) throw new Error(`No lane "${route.lane}" and no default lane in the lane table.`);
  return lane.queues[route.priority];
}

/** The last segment of a queue URL or ARN: the queue's name, which both end with. */
const queueName = (urlOrArn: string): string =>
  urlOrArn.slice(Math.max(urlOrArn.lastIndexOf('/'), urlOrArn.lastIndexOf(':')) + 1);

/**
 * The route of the queue an SQS record came from (its `eventSourceARN`), or undefined for a queue that
 * is not in the table. A queue's ARN and URL both end with its name, which is unique in an account and
 * region, so the record needs no lane of its own.
 */
export function routeOfQueueArn(lanes: LaneTable, queueArn: string): QueueRoute | undefined {
  const name = queueName(queueArn);
  for (const [lane, runtime] of Object.entries(lanes)) {
    for (const priority of TASK_PRIORITIES) {
      if (queueName(runtime.queues[priority]) === name) return { lane, priority };
    }
  }
  return undefined;
}
