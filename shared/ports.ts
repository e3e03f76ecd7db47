import type { Task, TaskError, TaskMessage, TaskProgress, TaskStatus } from './task.js';

/** What a finished attempt writes: the terminal state and its data. */
export type TaskOutcome =
  | { readonly status: 'SUCCEEDED'; readonly result: unknown }
  | { readonly status: 'FAILED'; readonly error: TaskError }
  | { readonly status: 'CANCELLED' };

export type ClaimResult =
  | { readonly claimed: true; readonly task: Task }
  /** Not claimable: `task` is its current state (finished, held by a live lease) or undefined if unknown. */
  | { readonly claimed: false; readonly task?: Task };

/** Where a listing page ended; opaque to callers (the API encodes it). */
export type ListCursor = Readonly<Record<string, string>>;

export interface ListOptions {
  readonly limit: number;
  readonly cursor?: ListCursor;
  readonly status?: TaskStatus;
  /** Tasks whose `expiresAt` is at or before this epoch second are left out. */
  readonly nowSeconds: number;
}

export interface ScanFilter {
  readonly statuses: readonly TaskStatus[];
  readonly errorCode?: string;
}

export interface TaskPage {
  readonly tasks: readonly Task[];
  /** Present when more tasks may follow. */
  readonly cursor?: ListCursor;
}

/**
 * The attributes a listing reads: everything a caller sees of a task but its result, plus what the
 * store filters on. Neither the payload nor the result (up to 256 KiB each) is read for a listing.
 */
export const TASK_SUMMARY_ATTRIBUTES = [
  'taskId',
  'ownerId',
  'type',
  'status',
  'attempt',
  'maxAttempts',
  'createdAt',
  'updatedAt',
  'startedAt',
  'finishedAt',
  'progress',
  'error',
  'lastError',
  'cancelRequested',
  'expiresAt',
] as const satisfies ReadonlyArray<keyof Task>;

/** A task as a listing reads it (see {@link TASK_SUMMARY_ATTRIBUTES}). */
export type TaskSummary = Pick<Task, (typeof TASK_SUMMARY_ATTRIBUTES)[number]>;

export interface TaskSummaryPage {
  readonly tasks: readonly TaskSummary[];
  /** Present when more tasks may follow. */
  readonly cursor?: ListCursor;
}

/**
 * Durable task state. Every state change is one conditional write, so concurrent workers and
 * duplicate deliveries cannot both win (DESIGN.md §4).
 */
export interface TaskStore {
  /**
   * Records a new task; throws ConflictError if the id is taken by a task that has not expired
   * (an expired one is replaced: DynamoDB's TTL deletes it some time later anyway).
   */
  create(task: Task, nowSeconds: number): Promise<void>;
  /**
   * Strongly consistent read; undefined if there is no such item. With `ownerId`, another owner's
   * task is undefined too, and the database decides it, so the answer has the same size and takes
   * the same time as for a missing id: nobody learns that someone else's task id exists.
   */
  get(taskId: string, options?: { readonly ownerId?: string }): Promise<Task | undefined>;
  /** Removes a task that was recorded but never enqueued (still QUEUED at attempt 0). */
  discard(taskId: string): Promise<void>;
  /** QUEUED → RUNNING, or takes over a RUNNING task whose lease expired; bumps `attempt`. */
  claim(taskId: string, now: Date, leaseExpiresAt: number): Promise<ClaimResult>;
  /** RUNNING at `attempt` → terminal. False when `attempt` is no longer current (fencing). */
  finish(taskId: string, attempt: number, outcome: TaskOutcome, now: Date, expiresAt: number): Promise<boolean>;
  /**
   * Records progress of the RUNNING `attempt`; returns the task after the write, or undefined when
   * the attempt is no longer current.
   */
  progress(taskId: string, attempt: number, progress: TaskProgress, now: Date): Promise<Task | undefined>;
  /** RUNNING at `attempt` → QUEUED with the error that ended the attempt, for a retry. */
  release(taskId: string, attempt: number, error: TaskError, now: Date): Promise<boolean>;
  /**
   * The owner's cancellation: QUEUED → CANCELLED at once; RUNNING → `cancelRequested`, which the worker
   * turns into CANCELLED. Returns the task as it is afterwards, or undefined if the owner has no such task.
   */
  cancel(taskId: string, ownerId: string, now: Date, expiresAt: number): Promise<Task | undefined>;
  /**
   * The owner's tasks, newest first, as summaries (no payload, no result). A status filter may return
   * short pages: follow the cursor.
   */
  listByOwner(ownerId: string, options: ListOptions): Promise<TaskSummaryPage>;
  /**
   * A page of tasks in one of `statuses` (optionally failed with `errorCode`), across all owners: a
   * full-table scan, for the recovery sweep and operator commands only.
   */
  scan(filter: ScanFilter, cursor?: ListCursor): Promise<TaskPage>;
  /** FAILED with `DeadLettered` → QUEUED with `extraAttempts` more attempts; false if it is not. */
  requeueDeadLettered(taskId: string, extraAttempts: number, now: Date): Promise<boolean>;
  /** QUEUED or RUNNING → FAILED, whatever the attempt: for tasks whose message was given up on. */
  failUnfinished(taskId: string, error: TaskError, now: Date, expiresAt: number): Promise<boolean>;
}

/** The queue that drives workers. */
export interface TaskQueue {
  enqueue(message: TaskMessage, options?: { readonly delaySeconds?: number }): Promise<void>;
  /** Makes a received message visible again after `delaySeconds` (retry backoff). */
  retryLater(receiptHandle: string, delaySeconds: number): Promise<void>;
}

/**
 * The deployment's one secret key. Features never use it directly: each derives a key of its own for
 * a named purpose (HKDF-SHA256), so a key that leaks from one use says nothing about another.
 */
export interface DeploymentKey {
  /** 32 bytes for `purpose` (see KEY_PURPOSES in shared/deployment-key.ts); the same purpose gets the same key. */
  deriveKey(purpose: string): Buffer;
}

/** Where the deployment key comes from: Secrets Manager in AWS, a local file for `npm start`. */
export interface KeyRing {
  /** Loads the key on the first call and keeps it; a failed load is tried again on the next call. */
  deploymentKey(): Promise<DeploymentKey>;
}

/** The subset of a structured logger the cores use; Powertools Logger satisfies it. */
export interface Log {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export type Clock = () => Date;
