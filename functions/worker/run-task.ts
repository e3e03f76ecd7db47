import type { CallbackQueue } from '../../shared/callbacks/ports.js';
import { sendCallback } from '../../shared/callbacks/send-callback.js';
import { ItemTooLargeError } from '../../shared/errors.js';
import { endExpired } from '../../shared/expired-task.js';
import {
  groupOfPool,
  type OwnerSlots,
  type SlotLease,
  slotPool,
  slotWaitSeconds,
  type Waiter,
} from '../../shared/fair-share.js';
import { type QueueRoute, routeOf } from '../../shared/lanes.js';
import {
  FAIR_SHARE_COUNTS,
  LOG_KEYS,
  RECOVERY_COUNTS,
  TASK_COUNTS,
  TASK_TIMINGS,
  taskLogFields,
} from '../../shared/metric-names.js';
import type { Clock, Log, TaskOutcome, TaskQueue, TaskStore } from '../../shared/ports.js';
import { isExpired, isTerminal, type Task, type TaskError, type TaskMessage, TaskStatus } from '../../shared/task.js';
import { ownsPayloadObject, type TaskData } from '../../shared/task-data.js';
import { MAX_WAITS, parseTaskMessage } from '../../shared/task-message.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';
import { expiresAtAfter, MAX_VISIBILITY_WAIT_SECONDS, secondsUntil } from '../../shared/time.js';
import type { TaskRegistry } from '../tasks/define-task.js';
import { resultTooLarge, runAttempt } from './run-attempt.js';

/** One SQS record, reduced to what the worker needs. */
export interface TaskDelivery {
  readonly messageId: string;
  readonly body: string;
  readonly receiptHandle: string;
  /** The queue it was received from. @default the default lane's normal queue */
  readonly from?: QueueRoute;
}

export interface RunTaskDeps {
  readonly store: TaskStore;
  readonly queue: TaskQueue;
  readonly registry: TaskRegistry;
  readonly clock: Clock;
  readonly log: Log;
  /** Milliseconds left in this invocation (Lambda context.getRemainingTimeInMillis). */
  readonly remainingTimeMs: () => number;
  readonly retryBaseDelaySeconds: number;
  readonly retryMaxDelaySeconds: number;
  readonly ttlDays: number;
  readonly maxResultBytes: number;
  /**
   * Added to the invocation's end to make the lease: another delivery takes the task over only
   * after it, so clocks that disagree by less than this never let two attempts overlap.
   */
  readonly leaseGraceMs: number;
  /** How often a running task's record is checked for a cancel request. @default never */
  readonly cancelCheckIntervalMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
  /** Task events for the dashboard. @default not recorded */
  readonly metrics?: TaskMetrics;
  /** Where a finished task's callback delivery is queued. @default callbacks are not sent */
  readonly callbackQueue?: CallbackQueue;
  /** The bucket for payloads, results and files too large for the item. @default none: everything inline */
  readonly taskData?: TaskData;
  /**
   * Per-owner concurrency limits (settings.fairness.ownerConcurrency, a type's `maxRunningPerOwner`):
   * where the slots are, the deployment-wide limit when it is on, and the longest a waiting message
   * waits before it looks again. @default no limit
   */
  readonly ownerConcurrency?: {
    readonly slots: OwnerSlots;
    readonly maxRunning?: number;
    readonly waitMaxSeconds: number;
  };
}

/** The record stays on the queue; SQS delivers it again after its visibility timeout. */
export class RetryLaterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

/**
 * Claims the task a message names, runs its handler, and records the outcome. Resolves when the
 * message should be deleted (done, duplicate, or unusable); throws when it should be delivered again.
 */
export async function runTask(delivery: TaskDelivery, deps: RunTaskDeps): Promise<void> {
  try {
    await claimAndRun(delivery, deps);
  } catch (error) {
    // The batch processor only records a failed record; say why, or the retry is a mystery.
    if (!(error instanceof RetryLaterError)) {
      deps.log.error('task message failed: it will be delivered again', {
        [LOG_KEYS.messageId]: delivery.messageId,
        error,
      });
    }
    throw error;
  }
}

async function claimAndRun(delivery: TaskDelivery, deps: RunTaskDeps): Promise<void> {
  const message = parseTaskMessage(delivery.body);
  if (!message) {
    // Not from our API: retrying cannot help and there is no task to mark.
    deps.log.error('malformed task message: dropped', { [LOG_KEYS.messageId]: delivery.messageId });
    return;
  }
  const now = deps.clock();
  const remaining = deps.remainingTimeMs();
  // The slot and the task are held under one lease: neither outlives the other's holder.
  const lease = now.getTime() + remaining + deps.leaseGraceMs;
  const slot = await takeOwnerSlot(message, delivery, now, lease, deps);
  if (slot === 'settled') return;
  try {
    const claim = await deps.store.claim(message.taskId, now, lease);
    if (!claim.claimed) return await notClaimed(claim.task, message.taskId, delivery, now, deps);
    // Read again: the slot and the claim spent some of the invocation (throttled calls, a busy batch), and
    // a deadline counted from before them would fire after Lambda has ended the invocation.
    await run(claim.task, deps.remainingTimeMs(), now, delivery, deps);
  } finally {
    if (slot) await giveBack(slot, deps);
  }
}

async function run(task: Task, remaining: number, now: Date, delivery: TaskDelivery, deps: RunTaskDeps): Promise<void> {
  const context = taskLogFields(task, delivery.messageId);
  deps.log.info('task started', { ...context, claimedFrom: task.claimedFrom });
  const route = routeOf(task);
  deps.metrics?.record(TASK_COUNTS.started, task.type, 1, route);
  if (task.claimedFrom === TaskStatus.Running) deps.metrics?.record(RECOVERY_COUNTS.takenOver, task.type, 1, route);
  if (task.attempt === 1) {
    // From the moment the task could run: a delay the caller asked for is not waiting.
    const runnableAt = task.runAt
      ? Date.parse(task.runAt)
      : Date.parse(task.createdAt) + (task.delaySeconds ?? 0) * 1000;
    deps.metrics?.record(TASK_TIMINGS.queueWaitMs, task.type, Math.max(0, now.getTime() - runnableAt), route);
  }

  // Cancel asked while the previous attempt was still on it, before that attempt died.
  if (task.cancelRequested) {
    await finish(task, { status: 'CANCELLED' }, context, deps);
    return;
  }
  // An attempt that crashed mid-way leaves its lease to expire; its attempts count too.
  if (task.attempt > task.maxAttempts) {
    await finish(task, { status: 'FAILED', error: attemptsExhausted(task) }, context, deps);
    return;
  }

  const outcome = await runAttempt(task, remaining, deps);
  deps.metrics?.record(TASK_TIMINGS.durationMs, task.type, deps.clock().getTime() - now.getTime(), route);
  if (outcome.status === 'LOST') return;
  if (outcome.status !== 'RETRY') {
    await finish(task, outcome, context, deps);
    return;
  }
  if (task.attempt >= task.maxAttempts) {
    await finish(task, { status: 'FAILED', error: outcome.error }, context, deps);
    return;
  }
  await retry(task, outcome.error, delivery, context, deps);
}

/** What every log line about one attempt carries: `taskLogFields` of the task and its message. */
type LogContext = ReturnType<typeof taskLogFields>;

/**
 * A slot of the owner's concurrency limit, taken before the claim so that a task that must wait has
 * spent nothing: no attempt (the claim counts those) and no receive (a waiting message is replaced by a
 * fresh one, sent with a delay, rather than made visible again, so waiting never nears the dead-letter
 * queue). One message waits per task, so copies of it die out instead of polling beside it (a read of
 * the task tells them). Undefined when no limit applies to the task; `settled` when nothing is left to
 * do with the message: replaced by its successor, or a copy of another waiting message, or its task gone.
 */
async function takeOwnerSlot(
  message: TaskMessage,
  delivery: TaskDelivery,
  now: Date,
  leaseExpiresAtMs: number,
  deps: RunTaskDeps,
): Promise<SlotLease | 'settled' | undefined> {
  const limits = deps.ownerConcurrency;
  if (!limits) return undefined;
  let { group, type } = message;
  // Read at most once, and only when needed: a message without its group or type, or a wait.
  let read: Promise<Task | undefined> | undefined;
  const stored = () => {
    read ??= deps.store.get(message.taskId);
    return read;
  };
  if (group === undefined || type === undefined) {
    // A message without them (sent before groups existed, or a bare copy): the task says whose it is.
    const task = await stored();
    group ??= task?.ownerGroup;
    type ??= task?.type;
  }
  if (group === undefined || type === undefined) return undefined;
  const ownLimit = deps.registry.get(type)?.maxRunningPerOwner;
  const limit = ownLimit ?? limits.maxRunning;
  if (limit === undefined) return undefined;

  const pool = slotPool(group, type, ownLimit !== undefined);
  // Where this task's messages go: the queue this one came from (a message names its route only when it
  // is not the default one), so a waiting task keeps its lane's timeout and its priority.
  const route = delivery.from ?? {
    ...(message.lane !== undefined && { lane: message.lane }),
    ...(message.priority !== undefined && { priority: message.priority }),
  };
  const slot = await limits.slots.acquire(pool, message.taskId, limit, now, leaseExpiresAtMs);
  if (slot.acquired) {
    // A task that waited and got its slot by itself leaves the line: a release would wake it for nothing.
    const since = message.waitSince;
    if (since !== undefined) {
      await limits.slots.withdraw(pool, { taskId: message.taskId, type, since }).catch((error: unknown) => {
        deps.log.warn('could not take a task off its owner’s waiters', { ...taskLogFields(message), error });
      });
    }
    return slot.lease;
  }
  const fields = taskLogFields({ taskId: message.taskId, type }, delivery.messageId);
  if (slot.reason === 'held') {
    // Another delivery of this very task holds its slot (a duplicate message): wait for it, as for a live lease.
    const freeInSeconds = secondsUntil(slot.freeAtMs, now.getTime());
    const waitSeconds = Math.min(MAX_VISIBILITY_WAIT_SECONDS, Math.max(1, freeInSeconds));
    await deps.queue.retryLater(delivery.receiptHandle, waitSeconds, delivery.from);
    deps.metrics?.record(RECOVERY_COUNTS.deferred, type);
    throw new RetryLaterError(`Task ${message.taskId} holds a slot in another delivery for ${waitSeconds} s.`);
  }
  // One message waits per task: a copy of the waiting one (a duplicate delivery, a spare) stops here,
  // before it sends a successor of its own, unless the wait it would join has run out (its waiter lost).
  // A RUNNING task waits too: its attempt died, and the takeover needs a slot like any attempt.
  const current = await stored();
  const nowMs = now.getTime();
  if (!current || isTerminal(current.status)) return 'settled';
  if (isExpired(current, nowMs)) {
    // A wait longer than the task's time to live: it ends Expired rather than wait on.
    await endExpired(current, deps);
    return 'settled';
  }
  const waiting = current.waitingUntilMs;
  if (waiting !== undefined && waiting >= nowMs && waiting !== message.waitUntil) {
    // A woken task that lost the slot to another one goes back to its place in the line.
    if (message.waitSince !== undefined) {
      await limits.slots
        .enlist(pool, { taskId: message.taskId, type, since: message.waitSince, ...route })
        .catch((error: unknown) => deps.log.warn('could not put a woken task back in line', { ...fields, error }));
    }
    return 'settled';
  }

  // Bounded as the message schema bounds it: a successor the parser refused would be dropped, its task stranded.
  const waits = Math.min(MAX_WAITS, (message.waits ?? 0) + 1);
  const waitSeconds = slotWaitSeconds(waits, limits.waitMaxSeconds, deps.random);
  const waitUntil = nowMs + waitSeconds * 1000;
  const waitSince = message.waitSince ?? nowMs;
  // The successor before the note: whatever happens to this invocation now, a message with the new wait is
  // out, and finds its wait noted, or the old one run out.
  try {
    await deps.queue.enqueue(
      { taskId: message.taskId, type, group, waits, waitUntil, waitSince, ...route },
      { delaySeconds: waitSeconds },
    );
  } catch (error) {
    // This message comes back after the wait instead: one receive spent, nothing lost.
    deps.log.warn('could not resend a message waiting for a slot; it waits on its visibility', { ...fields, error });
    await deps.queue.retryLater(delivery.receiptHandle, waitSeconds, delivery.from).catch(() => {});
    throw new RetryLaterError(`Task ${message.taskId} waits ${waitSeconds} s for a slot; its resend failed: ${error}`);
  }
  // Conditional, for a copy that raced this one here: the loser's successor stops when it comes. Noted,
  // the wait also keeps the recovery sweep away.
  const noted = await deps.store
    .noteWaiting(message.taskId, waitUntil, { expected: message.waitUntil, nowMs })
    .catch((error: unknown) => {
      deps.log.warn('could not note a task waiting for a slot; it waits all the same', { ...fields, error });
      return 'noted' as const;
    });
  if (noted !== 'noted') return 'settled';
  // In the line, a release wakes it before its wait is over (the oldest waiter first).
  await limits.slots
    .enlist(pool, { taskId: message.taskId, type, since: waitSince, ...route })
    .catch((error: unknown) => {
      deps.log.warn('could not put a task in its owner’s line; its wait brings it back', { ...fields, error });
    });
  deps.log.info('task waits for a slot of its owner', { ...fields, limit, waitSeconds, waits });
  deps.metrics?.record(FAIR_SHARE_COUNTS.ownerSlotWait, type);
  return 'settled';
}

/**
 * Best effort: a slot that cannot be given back now ends with its lease. The slot freed, one waiting
 * task of the pool is woken with a fresh message (its own, delayed, still comes: a spare is harmless).
 */
async function giveBack(slot: SlotLease, deps: RunTaskDeps): Promise<void> {
  let waiter: Waiter | undefined;
  try {
    waiter = await deps.ownerConcurrency?.slots.release(slot);
  } catch (error) {
    deps.log.warn('could not give back a slot; it frees when its lease ends', {
      ...taskLogFields({ taskId: slot.holder }),
      error,
    });
  }
  if (!waiter) return;
  try {
    // Its place in the line goes with it: if another task takes the slot first, it waits as the oldest again.
    const { taskId, type, since, lane, priority } = waiter;
    await deps.queue.enqueue({
      taskId,
      type,
      group: groupOfPool(slot.pool),
      waitSince: since,
      ...(lane !== undefined && { lane }),
      ...(priority !== undefined && { priority }),
    });
  } catch (error) {
    deps.log.warn('could not wake a task waiting for a slot; its wait brings it back', {
      ...taskLogFields(waiter),
      error,
    });
  }
}

/**
 * The task is not claimable now. The message is deleted when nothing is left to do (no such task,
 * expired, finished); otherwise it waits, out of sight, until the task may be claimable again: the
 * end of a live lease, or the `runAtMs` of a pending retry or delay. A duplicate message therefore
 * never runs a task early, and never runs it beside the attempt that holds it.
 */
async function notClaimed(
  current: Task | undefined,
  taskId: string,
  delivery: TaskDelivery,
  now: Date,
  deps: RunTaskDeps,
): Promise<void> {
  if (!current || isExpired(current, now.getTime())) {
    // An expired task that nothing else drives ends here (Expired), instead of waiting for TTL's delete.
    if (current && (await endExpired(current, deps))) return;
    deps.log.warn('message for an unknown or expired task: dropped', taskLogFields({ taskId }, delivery.messageId));
    return;
  }
  if (isTerminal(current.status)) {
    deps.log.info('duplicate delivery of a finished task: acknowledged', {
      ...taskLogFields({ taskId }),
      [LOG_KEYS.status]: current.status,
    });
    return;
  }
  const claimableAt =
    current.status === TaskStatus.Running ? (current.leaseExpiresAt ?? now.getTime()) : (current.runAtMs ?? 0);
  const waitSeconds = Math.min(MAX_VISIBILITY_WAIT_SECONDS, Math.max(1, secondsUntil(claimableAt, now.getTime())));
  await deps.queue.retryLater(delivery.receiptHandle, waitSeconds, delivery.from);
  deps.metrics?.record(RECOVERY_COUNTS.deferred, current.type, 1, routeOf(current));
  throw new RetryLaterError(`Task ${taskId} is ${current.status} and not claimable for ${waitSeconds} s.`);
}

/**
 * A retryable failure: back to QUEUED with the backoff as `runAtMs`, and the message made visible
 * again when the backoff ends. A cancel requested during the attempt ends the task CANCELLED
 * instead, without spending another attempt.
 */
async function retry(
  task: Task,
  error: TaskError,
  delivery: TaskDelivery,
  context: LogContext,
  deps: RunTaskDeps,
): Promise<void> {
  const now = deps.clock();
  const delaySeconds = backoffSeconds(task.attempt, deps);
  const released = await deps.store.release(task.taskId, task.attempt, error, now, now.getTime() + delaySeconds * 1000);
  if (released === 'cancelRequested') {
    await finish(task, { status: 'CANCELLED' }, context, deps);
    return;
  }
  if (released === 'superseded') {
    deps.log.warn('stale attempt: task changed while running', context);
    return;
  }
  deps.log.info('task will be retried', { ...context, [LOG_KEYS.errorCode]: error.code, delaySeconds });
  deps.metrics?.record(TASK_COUNTS.retried, task.type, 1, routeOf(task));
  try {
    await deps.queue.retryLater(delivery.receiptHandle, delaySeconds, delivery.from);
  } catch (visibilityError) {
    // The message comes back after its visibility timeout instead; the claim still waits for runAtMs.
    deps.log.warn('could not delay the retry; it follows the visibility timeout', {
      ...context,
      error: visibilityError,
    });
  }
  throw new RetryLaterError(`Task ${task.taskId} attempt ${task.attempt} failed: ${error.code}.`);
}

async function finish(task: Task, outcome: TaskOutcome, context: LogContext, deps: RunTaskDeps): Promise<void> {
  const now = deps.clock();
  const expiresAt = expiresAtAfter(now, deps.ttlDays);
  let recorded: boolean;
  let final = outcome;
  try {
    recorded = await deps.store.finish(task.taskId, task.attempt, outcome, now, expiresAt);
  } catch (error) {
    if (!(error instanceof ItemTooLargeError) || outcome.status !== 'SUCCEEDED') throw error;
    // The size check before this is an estimate; the table has the last word, and retrying cannot change it.
    final = resultTooLarge(deps.maxResultBytes);
    recorded = await deps.store.finish(task.taskId, task.attempt, final, now, expiresAt);
  }
  await deleteObjects(unrecordedKeys(outcome, recorded ? final : undefined), context, deps);
  if (!recorded) {
    // Fencing: a newer attempt owns the task now, so this one's outcome is dropped on purpose.
    deps.log.warn('stale attempt: outcome not recorded', context);
    return;
  }
  // A cancelled task never runs again: its own payload object goes now (an uploaded one may back other tasks).
  if (final.status === 'CANCELLED' && task.payloadRef && ownsPayloadObject(task)) {
    await deleteObjects([task.payloadRef.key], context, deps);
  }
  deps.log.info('task finished', {
    ...context,
    [LOG_KEYS.status]: final.status,
    ...(final.status === 'FAILED' && { [LOG_KEYS.errorCode]: final.error.code }),
  });
  deps.metrics?.record(OUTCOME_COUNTS[final.status], task.type, 1, routeOf(task));
  await sendCallback(task, deps.callbackQueue, deps.log);
}

/** Objects an outcome wrote (result, artifacts) that the recorded outcome does not refer to. */
function unrecordedKeys(written: TaskOutcome, recorded: TaskOutcome | undefined): string[] {
  const keysOf = (outcome: TaskOutcome | undefined): string[] =>
    outcome && outcome.status !== 'CANCELLED'
      ? [
          ...(outcome.status === 'SUCCEEDED' && outcome.resultRef ? [outcome.resultRef.key] : []),
          ...(outcome.artifacts ?? []).map((artifact) => artifact.key),
        ]
      : [];
  const kept = new Set(keysOf(recorded));
  return keysOf(written).filter((key) => !kept.has(key));
}

/** Best effort: what a delete leaves expires with the bucket's lifecycle rule. */
async function deleteObjects(keys: readonly string[], context: LogContext, deps: RunTaskDeps): Promise<void> {
  if (keys.length === 0 || !deps.taskData) return;
  try {
    await deps.taskData.blobs.delete(keys);
  } catch (error) {
    deps.log.warn('could not delete task data objects; they expire with the bucket', { ...context, error });
  }
}

const OUTCOME_COUNTS = {
  SUCCEEDED: TASK_COUNTS.succeeded,
  FAILED: TASK_COUNTS.failed,
  CANCELLED: TASK_COUNTS.cancelled,
} as const;

/** Exponential backoff with full jitter, in whole seconds as SQS wants them. */
export function backoffSeconds(
  attempt: number,
  deps: Pick<RunTaskDeps, 'retryBaseDelaySeconds' | 'retryMaxDelaySeconds' | 'random'>,
): number {
  const ceiling = Math.min(deps.retryMaxDelaySeconds, deps.retryBaseDelaySeconds * 2 ** (attempt - 1));
  // floor over ceiling + 1 values: uniform on 0..ceiling (round would halve the odds of both ends).
  return Math.floor((deps.random ?? Math.random)() * (ceiling + 1));
}

function attemptsExhausted(task: Task): TaskError {
  return {
    code: 'AttemptsExhausted',
    message: `The task did not finish in ${task.maxAttempts} attempts; last error: ${
      task.lastError?.message ?? 'none recorded (the worker stopped mid-attempt)'
    }`,
  };
}
