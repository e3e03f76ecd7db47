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

export interface TaskProgress {
  readonly percent: number;
  readonly message?: string;
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
}

/**
 * What SQS carries: just enough to claim the task, which returns the rest. `type` is informative
 * only (the stored task's type is the one that runs), so a message without it still drives its task.
 */
export interface TaskMessage {
  readonly taskId: string;
  readonly type?: string;
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
}

/** The attributes a view is built from: never the owner, the payload or the bookkeeping. */
type ViewedAttributes =
  | 'taskId'
  | 'type'
  | 'status'
  | 'attempt'
  | 'maxAttempts'
  | 'createdAt'
  | 'updatedAt'
  | 'startedAt'
  | 'finishedAt'
  | 'progress'
  | 'error'
  | 'lastError'
  | 'cancelRequested';

/** A task in a listing (`GET /tasks`): the view without the result; fetch the task for that. */
export type TaskSummaryView = Omit<TaskView, 'result'>;

/** `GET /tasks`: a page of the caller's tasks, newest first. */
export interface TaskListing<Summary = TaskSummaryView> {
  readonly tasks: readonly Summary[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  readonly nextCursor?: string;
}

export function toTaskView(task: Pick<Task, ViewedAttributes | 'result'>): TaskView {
  return {
    taskId: task.taskId,
    type: task.type,
    status: task.status,
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
  };
}

/** The view of a listed task: whatever the store hands over, the result is never part of it. */
export function toTaskSummaryView(task: Pick<Task, ViewedAttributes>): TaskSummaryView {
  return toTaskView({ ...task, result: undefined });
}

/** Items outlive their TTL until DynamoDB gets round to deleting them (and dynalite never does). */
export const isExpired = (task: Task, nowMs: number): boolean => task.expiresAt * 1000 <= nowMs;
