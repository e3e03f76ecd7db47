import type { CallbackQueue } from '../../shared/callbacks/ports.js';
import { endExpired } from '../../shared/expired-task.js';
import { DEFAULT_LANE } from '../../shared/lanes.js';
import { LOG_KEYS, taskLogFields } from '../../shared/metric-names.js';
import type { Clock, ListCursor, Log, TaskQueue, TaskStore } from '../../shared/ports.js';
import {
  callbackNotBefore,
  hasPendingCallback,
  isExpired,
  isTerminal,
  type Task,
  TaskStatus,
} from '../../shared/task.js';
import { taskMessageOf } from '../../shared/task-message.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';
import { MAX_DELAY_SECONDS, remainingDelaySeconds } from '../../shared/time.js';

export interface SweepDeps {
  readonly store: TaskStore;
  readonly queue: TaskQueue;
  readonly clock: Clock;
  readonly log: Log;
  /**
   * How long a task may sit QUEUED past the time it could run, or RUNNING past its lease, before its
   * message is presumed lost. Must exceed the visibility timeout (settings validation checks it).
   */
  readonly staleAfterSeconds: number;
  /** Days a task is kept: an unfinished task past them ends Expired, with them afresh. */
  readonly ttlDays: number;
  /** Task events for the dashboard (the ends of expired tasks). @default not recorded */
  readonly metrics?: TaskMetrics;
  /**
   * The callback delivery queue: finished tasks whose callback is still pending past the stale time (its
   * message was lost, or never sent because the process that wrote the end died first) get it again.
   * @default callbacks are not swept
   */
  readonly callbackQueue?: CallbackQueue;
  /**
   * The stale time of each lane, when it is not `staleAfterSeconds`: a lane with a longer timeout takes
   * longer to dead-letter a crash-looping message. @default every lane waits `staleAfterSeconds`
   */
  readonly staleAfterSecondsByLane?: Readonly<Record<string, number>>;
}

export interface SweepReport {
  readonly scanned: number;
  readonly requeued: number;
  /** The tasks re-enqueued, for the log and for checks (at most the first 100). */
  readonly requeuedTaskIds: readonly string[];
  /**
   * Those of them that were waiting for a slot of their owner's concurrency limit, past their noted wait
   * (at most the first 100): their message is most likely still in the queue, behind a backlog longer than
   * the stale time, rather than lost. The spare is harmless (the copy that comes second stops).
   */
  readonly requeuedWaitingTaskIds: readonly string[];
  /** Finished tasks whose callback delivery was sent again. */
  readonly callbacksResent?: number;
  /** Unfinished tasks past their time to live, ended Expired. */
  readonly expired: number;
}

/**
 * Finds tasks that nothing drives any more (a send that failed after the record was written, a
 * local restart that emptied the in-memory queue, a message lost past its retention) and sends
 * their message again. A spare message is harmless: the claim lets only one worker run a task.
 */
export async function sweepStuckTasks(
  deps: SweepDeps,
  options: {
    /** Every unfinished task, even one under a live lease: after a restart with a new, empty queue. */
    readonly all?: boolean;
  } = {},
): Promise<SweepReport> {
  const now = deps.clock().getTime();
  const staleBefore = (task: Task) =>
    options.all
      ? Number.POSITIVE_INFINITY
      : now - (deps.staleAfterSecondsByLane?.[task.lane ?? DEFAULT_LANE] ?? deps.staleAfterSeconds) * 1000;
  let scanned = 0;
  let callbacksResent = 0;
  let expired = 0;
  const requeuedTaskIds: string[] = [];
  const requeuedWaitingTaskIds: string[] = [];
  let cursor: ListCursor | undefined;
  const { callbackQueue } = deps;
  do {
    const page = await deps.store.scan(
      { statuses: [TaskStatus.Queued, TaskStatus.Running], pendingCallbacks: callbackQueue !== undefined },
      cursor,
    );
    scanned += page.tasks.length;
    for (const task of page.tasks.filter((t) => isTerminal(t.status) && !isExpired(t, now))) {
      if (!callbackQueue || !hasPendingCallback(task) || !isCallbackStale(task, staleBefore(task))) continue;
      await callbackQueue.enqueue({ taskId: task.taskId });
      callbacksResent++;
      deps.log.warn('pending callback sent again', { taskId: task.taskId, type: task.type, status: task.status });
    }
    for (const task of page.tasks.filter((t) => !isTerminal(t.status) && isExpired(t, now))) {
      // Nothing claims an expired task: it ends Expired here, before TTL's delete would make it vanish.
      if (await endExpired(task, deps)) expired++;
    }
    for (const task of page.tasks.filter(
      (t) => !isTerminal(t.status) && !isExpired(t, now) && isStuck(t, staleBefore(t)) && !startsLater(t, now),
    )) {
      // To the task's own lane and priority, as its first message went.
      await deps.queue.enqueue(taskMessageOf(task), { delaySeconds: remainingDelay(task, now) });
      requeuedTaskIds.push(task.taskId);
      const waited = task.waitingUntilMs !== undefined;
      if (waited) requeuedWaitingTaskIds.push(task.taskId);
      deps.log.warn('stuck task re-enqueued', {
        ...taskLogFields(task),
        [LOG_KEYS.status]: task.status,
        ...(waited && { waitedForSlotUntil: new Date(task.waitingUntilMs ?? 0).toISOString() }),
      });
    }
    cursor = page.cursor;
  } while (cursor);
  const requeued = requeuedTaskIds.length;
  if (requeued > 0 || scanned > 0) {
    deps.log.info('recovery sweep done', { scanned, requeued, callbacksResent, expired });
  }
  return {
    scanned,
    requeued,
    expired,
    requeuedTaskIds: requeuedTaskIds.slice(0, 100),
    requeuedWaitingTaskIds: requeuedWaitingTaskIds.slice(0, 100),
    ...(callbackQueue && { callbacksResent }),
  };
}

/**
 * Silent for longer than a delivery can be: the message of a pending callback comes back when its
 * attempt is due (right after the end, or at the backoff's end), and a message whose deliveries crash
 * reaches the delivery DLQ well within the stale time (settings validation checks it).
 */
function isCallbackStale(task: Task, staleBefore: number): boolean {
  return Math.max(Date.parse(task.finishedAt ?? ''), callbackNotBefore(task) ?? 0) <= staleBefore;
}

/**
 * Waiting for a `runAt` beyond any SQS delay: its one-time schedule sends the message. (If the firing
 * is lost, the task turns stale after its `runAt` like any other and is re-enqueued then.)
 */
const startsLater = (task: Task, now: number): boolean =>
  task.runAtSchedule !== undefined && (task.runAtMs ?? 0) - now > MAX_DELAY_SECONDS * 1000;

/** A task waiting for its delay or backoff keeps the rest of it (the claim would make it wait anyway). */
const remainingDelay = (task: Task, now: number): number | undefined => remainingDelaySeconds(task.runAtMs, now);

/** Silent for longer than any healthy task can be: past the time it could run, or past its lease. */
function isStuck(task: Task, staleBefore: number): boolean {
  if (task.status === TaskStatus.Queued) {
    // A task waiting for a slot of its owner has a message that comes back by waitingUntilMs.
    return Math.max(Date.parse(task.updatedAt), task.runAtMs ?? 0, task.waitingUntilMs ?? 0) <= staleBefore;
  }
  // A takeover waiting for a slot of the owner (its attempt died) is not lost either.
  return Math.max(task.leaseExpiresAt ?? 0, task.waitingUntilMs ?? 0) <= staleBefore;
}
