import type { CallbackQueue } from '../../shared/callbacks/ports.js';
import { sendCallback } from '../../shared/callbacks/send-callback.js';
import { ConflictError, NotFoundError } from '../../shared/errors.js';
import { TASK_COUNTS, taskLogFields } from '../../shared/metric-names.js';
import type { Clock, Log, ScheduleService, TaskStore } from '../../shared/ports.js';
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
  /** Where a cancelled task's callback delivery is queued. @default callbacks are not sent */
  readonly callbackQueue?: CallbackQueue;
  /** Deletes the one-time schedule of a task cancelled before its far-off `runAt`. @default it fires into a CANCELLED task */
  readonly scheduler?: ScheduleService;
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
  // The clock, not the time of the request: each write of the cancel stamps its own time.
  const result = await deps.store.cancel(input.taskId, input.ownerId, deps.clock, expiresAtAfter(now, deps.ttlDays));
  if (!result) throw new NotFoundError();
  const { task, change } = result;
  if (task.status === TaskStatus.Succeeded || task.status === TaskStatus.Failed) {
    throw new ConflictError(`The task already ${task.status === TaskStatus.Succeeded ? 'succeeded' : 'failed'}.`);
  }
  // The store says whether this call changed anything, so a repeated or concurrent DELETE counts once.
  if (change === 'cancelled') {
    deps.log?.info('task cancelled while queued', taskLogFields(task));
    deps.metrics?.record(TASK_COUNTS.cancelled, task.type);
    await sendCallback(task, deps.callbackQueue, deps.log);
    if (task.runAtSchedule) await deleteRunAtSchedule(task.runAtSchedule, deps);
    await deletePayloadObject(task, deps);
  } else if (change === 'cancelRequested') {
    deps.log?.info('cancel requested for a running task', taskLogFields(task));
  }
  return task;
}

/**
 * Best effort: the task is CANCELLED already, so a schedule that survives (the call failed) fires into a
 * task its message then leaves alone.
 */
async function deleteRunAtSchedule(name: string, deps: CancelTaskDeps): Promise<void> {
  try {
    await deps.scheduler?.delete(name);
  } catch (error) {
    deps.log?.warn('could not delete the runAt schedule of a cancelled task; it will fire into nothing', {
      schedule: name,
      error,
    });
  }
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
