import { ConflictError, NotFoundError } from '../../shared/errors.js';
import { TASK_COUNTS } from '../../shared/metric-names.js';
import type { Clock, Log, TaskStore } from '../../shared/ports.js';
import { type Task, TaskStatus } from '../../shared/task.js';
import { ownsPayloadObject, type TaskData } from '../../shared/task-data.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';
import { expiresAtAfter } from '../../shared/time.js';
import { isWellFormedTaskId } from './get-task.js';

export interface CancelTaskDeps {
  readonly store: TaskStore;
  readonly clock: Clock;
  readonly ttlDays: number;
  readonly log?: Log;
  /** Task events for the dashboard. @default not recorded */
  readonly metrics?: TaskMetrics;
  /** Where a payload too large for the item is kept: a cancelled task's own copy is deleted. @default none */
  readonly taskData?: TaskData;
}

/**
 * Cancels a QUEUED task at once and asks a RUNNING one to stop. Cancelling a cancelled task is a
 * no-op (DELETE is idempotent); a task that already SUCCEEDED or FAILED cannot be cancelled.
 */
export async function cancelTask(input: { ownerId: string; taskId: string }, deps: CancelTaskDeps): Promise<Task> {
  if (!isWellFormedTaskId(input.taskId)) throw new NotFoundError();
  const now = deps.clock();
  const result = await deps.store.cancel(input.taskId, input.ownerId, now, expiresAtAfter(now, deps.ttlDays));
  if (!result) throw new NotFoundError();
  const { task, change } = result;
  if (task.status === TaskStatus.Succeeded || task.status === TaskStatus.Failed) {
    throw new ConflictError(`The task already ${task.status === TaskStatus.Succeeded ? 'succeeded' : 'failed'}.`);
  }
  // The store says whether this call changed anything, so a repeated or concurrent DELETE counts once.
  if (change === 'cancelled') {
    deps.log?.info('task cancelled while queued', { taskId: task.taskId, type: task.type, attempt: task.attempt });
    deps.metrics?.record(TASK_COUNTS.cancelled, task.type);
    await deletePayloadObject(task, deps);
  } else if (change === 'cancelRequested') {
    deps.log?.info('cancel requested for a running task', { taskId: task.taskId, attempt: task.attempt });
  }
  return task;
}

/**
 * A task cancelled while QUEUED never runs: its payload object goes now if it is the task's own (an
 * uploaded one may back other tasks and expires with the bucket). Best effort: the lifecycle rule
 * removes what a failed delete leaves.
 */
async function deletePayloadObject(task: Task, deps: CancelTaskDeps): Promise<void> {
  if (!deps.taskData || !task.payloadRef || !ownsPayloadObject(task)) return;
  try {
    await deps.taskData.blobs.delete([task.payloadRef.key]);
  } catch (error) {
    deps.log?.warn('could not delete a cancelled task’s payload object; it expires with the bucket', {
      taskId: task.taskId,
      error,
    });
  }
}
