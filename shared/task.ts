import { DEFAULT_LANE, DEFAULT_PRIORITY, type TaskPriority } from './lanes.js';

export const TaskStatus = {
  Queued: 'QUEUED',
  Running: 'RUNNING',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  Cancelled: 'CANCELLED',
} as const;

export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set([
  TaskStatus.Succeeded,
  TaskStatus.Failed,
  TaskStatus.Cancelled,
]);

export const isTerminal = (status: TaskStatus): boolean => TERMINAL_STATUSES.has(status);

/** Error code of a task whose message SQS gave up on; the redrive command looks for it. */
export const DEAD_LETTERED_CODE = 'DeadLettered';

export interface TaskError {
  readonly code: string;
  readonly message: string;
}

/** Where a task's completion callback stands: to be delivered, delivered (2xx), or given up on. */
export const CallbackStatus = { Pending: 'PENDING', Delivered: 'DELIVERED', Failed: 'FAILED' } as const;

export type CallbackStatus = (typeof CallbackStatus)[keyof typeof CallbackStatus];

/**
 * A task's completion callback as stored. The delivery fields describe the terminal event whose
 * `finishedAt` is `eventAt`: a task that ends again after a redrive has a new `finishedAt`, so its
 * callback is pending again without any write (the terminal writes never touch this map).
 */
export interface StoredCallback {
  readonly url: string;
  readonly eventAt?: string;
  readonly status?: CallbackStatus;
  readonly attempts?: number;
  readonly lastStatusCode?: number;
  readonly deliveredAt?: string;
  /** Epoch ms before which the next attempt must not be made (the retry backoff). */
  readonly nextAttemptAt?: number;
}

/** The callback as callers see it (`callback` in the task view). */
export interface CallbackView {
  readonly url: string;
  readonly status: CallbackStatus;
  readonly attempts: number;
  readonly lastStatusCode?: number;
  readonly deliveredAt?: string;
}

export interface TaskProgress {
  readonly percent: number;
  readonly message?: string;
}

/** A payload or result kept in the task data bucket instead of the item: its object key, size and ETag. */
export interface BlobRef {
  readonly key: string;
  readonly size: number;
  /** The object's ETag when it was checked: a reader that finds another one knows it was replaced since. */
  readonly etag?: string;
}

/** A file a task wrote with `ctx.artifacts.put`, kept in the task data bucket. */
export interface StoredArtifact {
  readonly name: string;
  readonly key: string;
  readonly size: number;
  readonly contentType: string;
}

/** An artifact as callers see it: a presigned download URL, minted for each read. */
export interface ArtifactView {
  readonly name: string;
  readonly size: number;
  readonly contentType: string;
  readonly url: string;
}

/** A task as stored: one item of the task table (docs/architecture.md, "Data model"). */
export interface Task {
  readonly taskId: string;
  readonly ownerId: string;
  readonly type: string;
  readonly status: TaskStatus;
  readonly payload: unknown;
  /** sha256 of the payload's JSON: compares submissions without reading payloads. */
  readonly payloadHash: string;
  readonly idempotencyKey?: string;
  /** Delivery delay asked at submission; kept so a re-enqueue still honours it. */
  readonly delaySeconds?: number;
  /** The start time asked at submission (`runAt`), as an ISO timestamp. */
  readonly runAt?: string;
  /** The one-time schedule that starts it, when `runAt` was beyond the SQS delay; deleted on cancel. */
  readonly runAtSchedule?: string;
  /** The owner's schedule whose firing submitted it. */
  readonly scheduleName?: string;
  /** The lane it runs in (shared/lanes.ts); absent on items older than lanes: the default lane. */
  readonly lane?: string;
  /** Its priority; absent on items older than priorities: normal. */
  readonly priority?: TaskPriority;
  /** Claims so far; doubles as the fencing token of the current attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /**
   * Epoch milliseconds until which a RUNNING attempt holds the task: the end of the worker's
   * invocation plus a clock-skew tolerance. Another delivery may take the task over only after it.
   */
  readonly leaseExpiresAt?: number;
  /**
   * Epoch milliseconds before which a QUEUED task must not be claimed: the end of its delivery delay
   * or of its retry backoff. A duplicate message that arrives earlier waits instead of running it.
   */
  readonly runAtMs?: number;
  /**
   * Epoch milliseconds: a QUEUED task waiting for a slot of its owner's concurrency limit has a message
   * that looks again by then. The recovery sweep leaves it alone until then; claims ignore it.
   */
  readonly waitingUntilMs?: number;
  /** The status a claim found: RUNNING when it took over an attempt whose lease had expired. */
  readonly claimedFrom?: TaskStatus;
  /**
   * Random id of the latest state change. A writer whose reply was lost (and whose SDK retry then
   * failed its condition) finds its own id here and knows its write was applied.
   */
  readonly lastWriteId?: string;
  readonly progress?: TaskProgress;
  readonly result?: unknown;
  /** Set when the task ends FAILED. */
  readonly error?: TaskError;
  /** Why the latest attempt failed, while retries remain. */
  readonly lastError?: TaskError;
  readonly cancelRequested?: boolean;
  /**
   * The owner's keyed hash (shared/owner-group.ts): the MessageGroupId of the task's messages, so SQS
   * fair queues serve quiet owners first, and the key of the owner's fair-share state. Never the owner id.
   */
  readonly ownerGroup?: string;
  /** Epoch seconds; DynamoDB TTL deletes the item some time after this. */
  readonly expiresAt: number;
  /** Where to POST the terminal event; absent for tasks submitted without `callbackUrl`. */
  readonly callback?: StoredCallback;
  /** The payload in the task data bucket, when it was too large for the item (`payload` is then absent). */
  readonly payloadRef?: BlobRef;
  /** The result in the task data bucket, when it was too large for the item (`result` is then absent). */
  readonly resultRef?: BlobRef;
  /** Files written by the attempt that finished the task. */
  readonly artifacts?: readonly StoredArtifact[];
  /**
   * The owner's keyed hash, the first part of every object key of the task: the worker writes results
   * and artifacts under it without holding the deployment key.
   */
  readonly ownerHash?: string;
}

/**
 * What SQS carries: just enough to claim the task, which returns the rest. `type` is informative
 * only (the stored task's type is the one that runs), so a message without it still drives its task.
 */
export interface TaskMessage {
  readonly taskId: string;
  readonly type?: string;
  /** Where the message goes (the queue adapter picks the queue by them); the default lane at normal priority when absent. */
  readonly lane?: string;
  readonly priority?: TaskPriority;
  /**
   * The task's `ownerGroup`: sent as the message's MessageGroupId (fair queues) and read by the worker
   * to find the owner's concurrency slots before it claims. Informative like `type`.
   */
  readonly group?: string;
  /** Times this message waited for a slot of its owner's concurrency limit: its next wait backs off. */
  readonly waits?: number;
  /** The `waitingUntilMs` this message was sent for: it alone goes on waiting for its task (see noteWaiting). */
  readonly waitUntil?: number;
  /** Epoch ms of the task's first wait for a slot: its place among the owner's waiters. */
  readonly waitSince?: number;
}

/** The task as callers see it over HTTP. */
export interface TaskView {
  readonly taskId: string;
  readonly type: string;
  readonly status: TaskStatus;
  /** The lane it runs in. */
  readonly lane: string;
  readonly priority: TaskPriority;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly progress?: TaskProgress;
  readonly result?: unknown;
  readonly error?: TaskError;
  readonly lastError?: TaskError;
  /** The owner asked a RUNNING task to stop; the worker will end it CANCELLED. */
  readonly cancelRequested?: true;
  readonly callback?: CallbackView;
  /** When it was asked to start (`runAt` at submission). */
  readonly runAt?: string;
  /** The schedule that submitted it. */
  readonly scheduleName?: string;
  /** A short-lived download URL of the result, when it was too large for the task's item (then no `result`). */
  readonly resultUrl?: string;
  /** Files the task wrote, each with a short-lived download URL. */
  readonly artifacts?: ArtifactView[];
}

/** The attributes a view is built from: never the owner, the payload or the bookkeeping. */
type ViewedAttributes =
  | 'taskId'
  | 'type'
  | 'status'
  | 'lane'
  | 'priority'
  | 'attempt'
  | 'maxAttempts'
  | 'createdAt'
  | 'updatedAt'
  | 'startedAt'
  | 'finishedAt'
  | 'progress'
  | 'error'
  | 'lastError'
  | 'cancelRequested'
  | 'callback'
  | 'runAt'
  | 'scheduleName';

/** A task in a listing (`GET /tasks`): the view without the result or files; fetch the task for those. */
export type TaskSummaryView = Omit<TaskView, 'result' | 'resultUrl' | 'artifacts'>;

/** `GET /tasks`: a page of the caller's tasks, newest first. */
export interface TaskListing<Summary = TaskSummaryView> {
  readonly tasks: readonly Summary[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  readonly nextCursor?: string;
}

export function toTaskView(task: Pick<Task, ViewedAttributes | 'result'>): TaskView {
  const callback = callbackView(task);
  return {
    taskId: task.taskId,
    type: task.type,
    status: task.status,
    lane: task.lane ?? DEFAULT_LANE,
    priority: task.priority ?? DEFAULT_PRIORITY,
    attempts: task.attempt,
    maxAttempts: task.maxAttempts,
    createdAt: task.createdAt,
    updatedAt: task.updatedAt,
    ...(task.startedAt && { startedAt: task.startedAt }),
    ...(task.finishedAt && { finishedAt: task.finishedAt }),
    ...(task.progress && { progress: task.progress }),
    ...(task.result !== undefined && { result: task.result }),
    ...(task.error && { error: task.error }),
    ...(task.lastError && !isTerminal(task.status) && { lastError: task.lastError }),
    ...(task.cancelRequested && !isTerminal(task.status) && { cancelRequested: true }),
    ...(callback && { callback }),
    ...(task.runAt && { runAt: task.runAt }),
    ...(task.scheduleName && { scheduleName: task.scheduleName }),
  };
}

/** True when the stored delivery fields describe the task's current terminal event. */
const describesCurrentEvent = (task: Pick<Task, 'status' | 'finishedAt' | 'callback'>): boolean =>
  isTerminal(task.status) && task.finishedAt !== undefined && task.callback?.eventAt === task.finishedAt;

/** The callback's state for the task's current (or coming) terminal event; undefined without a callback. */
export function callbackView(task: Pick<Task, 'status' | 'finishedAt' | 'callback'>): CallbackView | undefined {
  const stored = task.callback;
  if (!stored) return undefined;
  if (!describesCurrentEvent(task)) return { url: stored.url, status: CallbackStatus.Pending, attempts: 0 };
  return {
    url: stored.url,
    status: stored.status ?? CallbackStatus.Pending,
    attempts: stored.attempts ?? 0,
    ...(stored.lastStatusCode !== undefined && { lastStatusCode: stored.lastStatusCode }),
    ...(stored.deliveredAt && { deliveredAt: stored.deliveredAt }),
  };
}

/** A finished task whose callback still has to be delivered (or given up on). */
export const hasPendingCallback = (task: Pick<Task, 'status' | 'finishedAt' | 'callback'>): boolean =>
  isTerminal(task.status) && callbackView(task)?.status === CallbackStatus.Pending;

/** Epoch ms before which the pending callback's next attempt must wait; undefined when it is due. */
export const callbackNotBefore = (task: Pick<Task, 'status' | 'finishedAt' | 'callback'>): number | undefined =>
  describesCurrentEvent(task) ? task.callback?.nextAttemptAt : undefined;

/** The view of a listed task: whatever the store hands over, the result is never part of it. */
export function toTaskSummaryView(task: Pick<Task, ViewedAttributes>): TaskSummaryView {
  return toTaskView({ ...task, result: undefined });
}

/** Items outlive their TTL until DynamoDB gets round to deleting them (and dynalite never does). */
export const isExpired = (task: Task, nowMs: number): boolean => task.expiresAt * 1000 <= nowMs;

/** FAILED because SQS gave up on its message (`DeadLettered`): what a redrive takes back to work. */
export const isDeadLettered = (task: Task | undefined): task is Task =>
  task?.status === TaskStatus.Failed && task.error?.code === DEAD_LETTERED_CODE;

/**
 * How far a redrive moves a dead-lettered task's `expiresAt`: the seconds since it ended, so that it gets again
 * the span its end gave it (`ttlDays`), counted from the redrive.
 */
export const ttlShiftSeconds = (finishedAt: string | undefined, now: Date): number =>
  finishedAt === undefined
    ? 0
    : Math.max(0, Math.floor(now.getTime() / 1000) - Math.floor(Date.parse(finishedAt) / 1000));
