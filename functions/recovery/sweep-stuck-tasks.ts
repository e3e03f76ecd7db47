import type { Clock, ListCursor, Log, TaskQueue, TaskStore } from '../../shared/ports.js';
import { type Task, TaskStatus } from '../../shared/task.js';

export interface SweepDeps {
  readonly store: TaskStore;
  readonly queue: TaskQueue;
  readonly clock: Clock;
  readonly log: Log;
  /**
   * How long a task may sit QUEUED, or RUNNING past its lease, before its message is presumed lost.
   * Must exceed the longest legitimate wait: delivery delay, retry backoff and visibility timeout.
   */
  readonly staleAfterSeconds: number;
}

export interface SweepReport {
  readonly scanned: number;
  readonly requeued: number;
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
  let requeued = 0;
  let cursor: ListCursor | undefined;
  do {
    const page = await deps.store.scan({ statuses: [TaskStatus.Queued, TaskStatus.Running] }, cursor);
    scanned += page.tasks.length;
    for (const task of page.tasks.filter((t) => isStuck(t, staleBefore))) {
      await deps.queue.enqueue({ taskId: task.taskId, type: task.type }, { delaySeconds: remainingDelay(task, now) });
      requeued++;
      deps.log.warn('stuck task re-enqueued', { taskId: task.taskId, type: task.type, status: task.status });
    }
    cursor = page.cursor;
  } while (cursor);
  if (requeued > 0 || scanned > 0) deps.log.info('recovery sweep done', { scanned, requeued });
  return { scanned, requeued };
}

/** A delayed task that never ran keeps the rest of its delay. */
function remainingDelay(task: Task, now: number): number | undefined {
  if (!task.delaySeconds || task.attempt > 0) return undefined;
  const remaining = Math.ceil((Date.parse(task.createdAt) + task.delaySeconds * 1000 - now) / 1000);
  return remaining > 0 ? remaining : undefined;
}

function isStuck(task: Task, staleBefore: number): boolean {
  if (task.status === TaskStatus.Queued) return Date.parse(task.updatedAt) <= staleBefore;
  return (task.leaseExpiresAt ?? 0) <= staleBefore;
}
