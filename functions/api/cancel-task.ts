import { ConflictError, NotFoundError } from '../../shared/errors.js';
import { TASK_COUNTS } from '../../shared/metric-names.js';
import type { Clock, Log, TaskStore } from '../../shared/ports.js';
import { isExpired, type Task, TaskStatus } from '../../shared/task.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';
import { isWellFormedTaskId } from './get-task.js';

export interface CancelTaskDeps {
  readonly store: TaskStore;
  readonly clock: Clock;
  readonly ttlDays: number;
  readonly log?: Log;
  /** Task events for the dashboard. @default not recorded */
  readonly metrics?: TaskMetrics;
}

/**
 * Cancels a QUEUED task at once and asks a RUNNING one to stop. Cancelling a cancelled task is a
 * no-op (DELETE is idempotent); a task that already SUCCEEDED or FAILED cannot be cancelled.
 */
export async function cancelTask(input: { ownerId: string; taskId: string }, deps: CancelTaskDeps): Promise<Task> {
  if (!isWellFormedTaskId(input.taskId)) throw new NotFoundError();
  const now = deps.clock();
  const expiresAt = Math.floor(now.getTime() / 1000) + deps.ttlDays * 86_400;
  const task = await deps.store.cancel(input.taskId, input.ownerId, now, expiresAt);
  if (!task || isExpired(task, now.getTime())) throw new NotFoundError();
  if (task.status === TaskStatus.Succeeded || task.status === TaskStatus.Failed) {
    throw new ConflictError(`The task already ${task.status === TaskStatus.Succeeded ? 'succeeded' : 'failed'}.`);
  }
  // Cancelled by this call: its clock is the finish time. A repeated DELETE records nothing new.
  if (task.status === TaskStatus.Cancelled && task.finishedAt === now.toISOString()) {
    deps.log?.info('task cancelled while queued', { taskId: task.taskId, type: task.type, attempt: task.attempt });
    deps.metrics?.record(TASK_COUNTS.cancelled, task.type);
  }
  return task;
}
