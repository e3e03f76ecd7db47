import type { QueueRoute } from './lanes.js';
import type { FiringTarget, Schedule } from './schedule.js';
import type {
  BlobRef,
  CallbackStatus,
  StoredArtifact,
  Task,
  TaskError,
  TaskMessage,
  TaskProgress,
  TaskStatus,
} from './task.js';

/**
 * What a finished attempt writes: the terminal state and its data. A result too large for the item
 * is already in the task data bucket (`resultRef`, no `result`); `artifacts` are the files the attempt wrote.
 */
export type TaskOutcome =
  | {
      readonly status: 'SUCCEEDED';
      readonly result: unknown;
      readonly resultRef?: BlobRef;
      readonly artifacts?: readonly StoredArtifact[];
    }
  | { readonly status: 'FAILED'; readonly error: TaskError; readonly artifacts?: readonly StoredArtifact[] }
  | { readonly status: 'CANCELLED' };

/** What `create` found: the task is now stored, or a live task already holds the id. */
export type CreateResult = { readonly created: true } | { readonly created: false; readonly existing: Task };

export type ClaimResult =
  | { readonly claimed: true; readonly task: Task }
  /**
   * Not claimable now: `task` is its current state (finished, held by a live lease, waiting for its
   * `runAtMs`, expired) or undefined if there is no such task.
   */
  | { readonly claimed: false; readonly task?: Task };

/**
 * What `release` did: the attempt went back to QUEUED for a retry; or the owner asked to cancel
 * while it ran (nothing written: end it CANCELLED instead, without spending another attempt); or
 * the attempt is no longer current (taken over, dead-lettered), so its outcome is not ours to write.
 */
export type ReleaseResult = 'released' | 'cancelRequested' | 'superseded';

/**
 * What `discard` did: the never-enqueued task is no longer stored (removed now, or by an earlier
 * try whose reply was lost, or never written, or replaced since by another creation under its id);
 * or it is kept, because it has moved on (a worker claimed it, so its message was delivered after
 * all) or an idempotent replay promised it to another request.
 */
export type DiscardResult = 'discarded' | 'kept';

/** What `discard` needs of the task it created. */
export type DiscardedTask = Pick<Task, 'taskId' | 'lastWriteId' | 'createdAt' | 'payloadHash'>;

/** What the owner's `cancel` found and did, in one report. */
export interface CancelResult {
  /** The task after the call. */
  readonly task: Task;
  /** `cancelled`: this call ended a QUEUED task; `cancelRequested`: it asked a RUNNING one to stop; `none`: nothing to do. */
  readonly change: 'cancelled' | 'cancelRequested' | 'none';
}

/** What the dead-letter path found: it failed an abandoned task, or left a task that something else still drives. */
/** What ending a task nothing drives did (the dead-letter path, an expiry). */
export type EndResult =
  /** `task`: the ended task, when the store has it at hand (its callback is then sent). */
  { readonly ended: true; readonly task?: Task } | { readonly ended: false; readonly task?: Task };

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
  /** Also finished tasks whose callback may still be PENDING (the recovery sweep re-sends lost deliveries). */
  readonly pendingCallbacks?: boolean;
}

/**
 * What one callback delivery records for the task's current terminal event (`eventAt` = its
 * `finishedAt`), fenced on the attempts recorded before it: of two deliveries of one event, the second
 * to record finds the count moved and records nothing.
 */
export interface CallbackRecord {
  readonly eventAt: string;
  readonly attemptsBefore: number;
  readonly attempts: number;
  readonly status: CallbackStatus;
  readonly lastStatusCode?: number;
  readonly deliveredAt?: string;
  /** Epoch ms of the next attempt, while PENDING. */
  readonly nextAttemptAt?: number;
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
  'lane',
  'priority',
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
  'callback',
  'runAt',
  'scheduleName',
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
 * duplicate deliveries cannot both win (docs/architecture.md, "States"). Every write also
 * recognises its own earlier success: when its reply was lost and the SDK's retry then failed the
 * condition, the result is the one the first try would have returned, not "someone else changed it".
 */
export interface TaskStore {
  /**
   * Records a new task. A task already holding the id is returned as `existing`, unless it has
   * expired and no attempt holds it under a live lease (DynamoDB's TTL deletes it some time later
   * anyway): then it is replaced.
   */
  create(task: Task, nowMs: number): Promise<CreateResult>;
  /**
   * Strongly consistent read; undefined if there is no such item. With `ownerId`, another owner's
   * task is undefined too, and the database decides it, so the answer has the same size and takes
   * the same time as for a missing id: nobody learns that someone else's task id exists.
   */
  get(taskId: string, options?: { readonly ownerId?: string }): Promise<Task | undefined>;
  /**
   * Removes a task this process created whose message could not be sent: only while it is still
   * QUEUED at attempt 0 and its latest write is that creation (`lastWriteId`). Kept only when what
   * stands under the id is that same creation (its `createdAt` and `payloadHash`), moved on: after a
   * lost reply the id may already hold another request's task, which says nothing of this one.
   */
  discard(created: DiscardedTask): Promise<DiscardResult>;
  /**
   * The idempotent replay of a never-claimed task promises it to a second request: marks it (a new
   * `lastWriteId`) so the first request can no longer discard it. False if it is no longer QUEUED at attempt 0.
   */
  markReplayed(taskId: string, now: Date): Promise<boolean>;
  /**
   * QUEUED (and past its `runAtMs`) → RUNNING, or takes over a RUNNING task whose lease has
   * expired; bumps `attempt` and holds the task until `leaseExpiresAt`. Never claims an expired task.
   */
  claim(taskId: string, now: Date, leaseExpiresAtMs: number): Promise<ClaimResult>;
  /** RUNNING at `attempt` → terminal. False when `attempt` is no longer current (fencing). */
  finish(taskId: string, attempt: number, outcome: TaskOutcome, now: Date, expiresAtSeconds: number): Promise<boolean>;
  /**
   * Records progress of the RUNNING `attempt`; returns the task after the write, or undefined when
   * the attempt is no longer current.
   */
  progress(taskId: string, attempt: number, progress: TaskProgress, now: Date): Promise<Task | undefined>;
  /**
   * RUNNING at `attempt` → QUEUED with the error that ended the attempt, claimable again from
   * `runAtMs` (the retry backoff). Not when a cancel was requested meanwhile (see ReleaseResult).
   */
  release(taskId: string, attempt: number, error: TaskError, now: Date, runAtMs: number): Promise<ReleaseResult>;
  /**
   * The owner's cancellation: QUEUED → CANCELLED at once; RUNNING → `cancelRequested`, which the worker
   * turns into CANCELLED. Undefined if the owner has no such live task. `now` is read again for each
   * write (a clock): a task the worker puts back QUEUED while the cancel runs is stamped `finishedAt`
   * when the cancel lands, never before the attempt that ran meanwhile.
   */
  cancel(
    taskId: string,
    ownerId: string,
    now: Date | (() => Date),
    expiresAtSeconds: number,
  ): Promise<CancelResult | undefined>;
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
  /**
   * A QUEUED task waits for a slot of its owner's concurrency limit, its message back by `untilMs` (or a
   * RUNNING one whose attempt died: its takeover waits for a slot too): records
   * it (`waitingUntilMs`), so the recovery sweep does not take the wait for a lost message, and so that one
   * message only waits per task (copies of it, a duplicate delivery, would otherwise wait on for ever). The
   * message that waited before passes the `waitingUntilMs` it was sent for (`expected`); any message may
   * take over a wait that ran out by `nowMs` (its waiter was lost, or comes back late: it then stops). `noted`: this message waits; `superseded`:
   * another one does, drop this one; `gone`: the task is finished (or was never there). The dead-letter handler
   * leaves a waiting task alone (a duplicate's dead letter does not fail it); the next claim clears the wait. Not a state
   * change (`lastWriteId` and `updatedAt` stay); a retry after a lost reply finds its own `untilMs`.
   */
  noteWaiting(
    taskId: string,
    untilMs: number,
    options: { readonly expected?: number; readonly nowMs: number },
  ): Promise<'noted' | 'superseded' | 'gone'>;
  /**
   * FAILED with `DeadLettered` → QUEUED with `extraAttempts` more attempts; false if it is not. A cancel
   * asked before stays asked: the next claim ends the task CANCELLED instead of running it.
   */
  requeueDeadLettered(taskId: string, extraAttempts: number, now: Date): Promise<boolean>;
  /**
   * FAILED with `error` (CANCELLED when its owner asked for a cancel), for a task whose message was given
   * up on (the dead-letter queue), but only if nothing else drives it: QUEUED and due (not waiting for a
   * retry), or RUNNING past its lease.
   * A task under a live lease or waiting for its backoff is left alone. Leases and backoffs that
   * end within `toleranceMs` of `now` count as ended (clocks of SQS and Lambda may disagree).
   */
  failAbandoned(
    taskId: string,
    error: TaskError,
    now: Date,
    expiresAtSeconds: number,
    toleranceMs?: number,
  ): Promise<EndResult>;
  /**
   * FAILED with `error` (CANCELLED when its owner asked for a cancel), for a task still unfinished when its
   * `expiresAt` passed: QUEUED, or RUNNING past its lease. Its new `expiresAt` keeps the end readable.
   */
  endExpired(taskId: string, error: TaskError, now: Date, expiresAtSeconds: number): Promise<EndResult>;
  /**
   * Records a callback delivery (see CallbackRecord): only on a finished task whose `finishedAt` is
   * still `eventAt` and whose attempts are still `attemptsBefore`. False when another delivery or a new
   * terminal event got there first.
   */
  recordCallback(taskId: string, record: CallbackRecord, now: Date): Promise<boolean>;
}

/** One message of a batch send, with its own delivery delay. */
export interface OutgoingMessage {
  readonly message: TaskMessage;
  readonly delaySeconds?: number;
}

/** What became of one message of a batch send: sent, or refused (with why; nothing was sent for it). */
export type EnqueueOutcome = { readonly sent: true } | { readonly sent: false; readonly error: Error };

/**
 * The queues that drive workers: one per lane and priority. A message goes to the queue of its `lane`
 * and `priority` (the default lane at normal priority when it names none).
 */
export interface TaskQueue {
  enqueue(message: TaskMessage, options?: { readonly delaySeconds?: number }): Promise<void>;
  /**
   * Sends several messages in as few requests as the queue allows (SQS: ten per SendMessageBatch, per
   * queue) and answers each one's outcome, in order: one message may fail while the others are sent.
   * Never throws. Optional: without it, callers send the messages one by one.
   */
  enqueueBatch?(messages: readonly OutgoingMessage[]): Promise<EnqueueOutcome[]>;
  /**
   * Makes a received message visible again after `delaySeconds` (retry backoff, a lease or a delay to
   * wait out), on the queue it was received from (`from`; the default lane's normal queue when absent).
   */
  retryLater(receiptHandle: string, delaySeconds: number, from?: QueueRoute): Promise<void>;
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

/** An object read from a {@link BlobStore}. */
export interface BlobObject {
  readonly body: Buffer;
  readonly size: number;
  readonly etag?: string;
}

/**
 * The task data bucket: payloads, results and files too large for a task's item (the claim-check
 * pattern). S3 in AWS, fauxqs's S3 locally, a Map in unit tests. Unreachable storage throws
 * DependencyUnavailableError.
 */
export interface BlobStore {
  /** Stores `body` at `key`, replacing any object there; answers the new object's ETag. */
  put(key: string, body: Uint8Array, contentType: string): Promise<{ readonly etag?: string }>;
  /**
   * The object at `key`, or undefined when there is none. With `maxBytes` a larger object is not
   * read (BlobTooLargeError); with `ifMatch` an object whose ETag differs is not read (BlobChangedError).
   */
  get(
    key: string,
    options?: { readonly maxBytes?: number; readonly ifMatch?: string },
  ): Promise<BlobObject | undefined>;
  /** Removes the objects; keys without one are no error. */
  delete(keys: readonly string[]): Promise<void>;
  /** A URL that lets whoever holds it PUT exactly `contentLength` bytes at `key` until it expires. */
  presignPut(
    key: string,
    options: { readonly contentLength: number; readonly expiresInSeconds: number },
  ): Promise<string>;
  /** A URL that lets whoever holds it GET the object at `key` until it expires; `downloadName` asks browsers to save it. */
  presignGet(
    key: string,
    options: { readonly expiresInSeconds: number; readonly downloadName?: string },
  ): Promise<string>;
}

/** The subset of a structured logger the cores use; Powertools Logger satisfies it. */
export interface Log {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export type Clock = () => Date;

/** A page of an owner's schedules, by name. */
export interface SchedulePage {
  readonly schedules: readonly Schedule[];
  /** Present when more schedules may follow. */
  readonly cursor?: ListCursor;
}

/**
 * The schedule table: one item per owner and name. Every write carries a fresh `lastWriteId` and
 * recognises its own earlier success, as the task store's writes do.
 */
export interface ScheduleStore {
  /** Records a new schedule; `exists` when the owner already has one by that name. */
  create(schedule: Schedule): Promise<'created' | 'exists'>;
  /** Strongly consistent; another owner's schedule is simply another key. */
  get(ownerId: string, name: string): Promise<Schedule | undefined>;
  /**
   * Replaces the schedule, only while its latest write is still `expectedWriteId` (what the caller
   * read): false when it changed or went meanwhile.
   */
  replace(schedule: Schedule, expectedWriteId: string): Promise<boolean>;
  /** Deletes it; the schedule as it was, or undefined if there was none. */
  delete(ownerId: string, name: string): Promise<Schedule | undefined>;
  /** Deletes it only while its latest write is `writeId`: takes back a creation that could not complete. */
  discard(ownerId: string, name: string, writeId: string): Promise<void>;
  /** The owner's schedules in name order, `limit` at a time. */
  list(ownerId: string, options: { readonly limit: number; readonly cursor?: ListCursor }): Promise<SchedulePage>;
  /** How many schedules the owner has (strongly consistent). */
  count(ownerId: string): Promise<number>;
}

/** One schedule as EventBridge Scheduler holds it: the timing, and what its target is told. */
export interface ScheduleDefinition {
  /** Unique in the deployment's schedule group (see shared/schedule.ts for how it is derived). */
  readonly name: string;
  /** `cron(...)`, `rate(...)` or `at(...)`. */
  readonly expression: string;
  readonly timezone: string;
  readonly startAt?: Date;
  readonly endAt?: Date;
  readonly enabled: boolean;
  /** What the fire function receives, with `scheduledTime` added at each firing. */
  readonly target: FiringTarget;
  /** One-time schedules delete themselves once they have fired. */
  readonly deleteAfterCompletion?: boolean;
}

/**
 * EventBridge Scheduler, as offload uses it: schedules in the deployment's group, all aimed at the
 * fire function. The local stack plays it with the same adapter against its own emulator.
 */
export interface ScheduleService {
  /** Creates the schedule, or replaces the one of that name. */
  put(definition: ScheduleDefinition): Promise<void>;
  /** Deletes the schedule; one that is not there (any more) is fine. */
  delete(name: string): Promise<void>;
}
