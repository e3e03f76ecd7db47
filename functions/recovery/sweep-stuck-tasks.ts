import { LOG_KEYS, taskLogFields } from '../../shared/metric-names.js';
import type { Clock, ListCursor, Log, TaskQueue, TaskStore } from '../../shared/ports.js';
import { isExpired, type Task, TaskStatus } from '../../shared/task.js';
import { taskMessageOf } from '../../shared/task-message.js';
import { MAX_DELAY_SECONDS, secondsUntil } from '../../shared/time.js';

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
}

export interface SweepReport {
  readonly scanned: number;
  readonly requeued: number;
  /** The tasks re-enqueued, for the log and for checks (at most the first 100). */
  readonly requeuedTaskIds: readonly string[];
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
  const staleBefore = options.all ? Number.POSITIVE_INFINITY : now - deps.staleAfterSeconds * 1000;
  let scanned = 0;
  const requeuedTaskIds: string[] = [];
  let cursor: ListCursor | undefined;
  do {
    const page = await deps.store.scan({ statuses: [TaskStatus.Queued, TaskStatus.Running] }, cursor);
    scanned += page.tasks.length;
    for (const task of page.tasks.filter((t) => !isExpired(t, now) && isStuck(t, staleBefore))) {
      await deps.queue.enqueue(taskMessageOf(task), { delaySeconds: remainingDelay(task, now) });
      requeuedTaskIds.push(task.taskId);
      deps.log.warn('stuck task re-enqueued', { ...taskLogFields(task), [LOG_KEYS.status]: task.status });
    }
    cursor = page.cursor;
  } while (cursor);
  const requeued = requeuedTaskIds.length;
  if (requeued > 0 || scanned > 0) deps.log.info('recovery sweep done', { scanned, requeued });
  return { scanned, requeued, requeuedTaskIds: requeuedTaskIds.slice(0, 100) };
}

/** A task waiting for its delay or backoff keeps the rest of it (the claim would make it wait anyway). */
function remainingDelay(task: Task, now: number): number | undefined {
  if (task.runAtMs === undefined || task.runAtMs <= now) return undefined;
  return Math.min(MAX_DELAY_SECONDS, secondsUntil(task.runAtMs, now));
}

/** Silent for longer than any healthy task can be: past the time it could run, or past its lease. */
function isStuck(task: Task, staleBefore: number): boolean {
  if (task.status === TaskStatus.Queued) {
    // A task waiting for a slot of its owner has a message that comes back by waitingUntilMs.
    return Math.max(Date.parse(task.updatedAt), task.runAtMs ?? 0, task.waitingUntilMs ?? 0) <= staleBefore;
  }
  // A takeover waiting for a slot of the owner (its attempt died) is not lost either.
  return Math.max(task.leaseExpiresAt ?? 0, task.waitingUntilMs ?? 0) <= staleBefore;
}
