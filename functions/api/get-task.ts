import { NotFoundError } from '../../shared/errors.js';
import type { Clock, TaskStore } from '../../shared/ports.js';
import { isExpired, type Task } from '../../shared/task.js';

const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Ids are UUIDs: anything else cannot exist, so it is answered without a database call. */
export const isWellFormedTaskId = (taskId: string): boolean => TASK_ID.test(taskId);

export interface GetTaskDeps {
  readonly store: TaskStore;
  readonly clock: Clock;
}

/** Another owner's task, an expired one and a missing one all look the same: not found. */
export async function getTask(input: { ownerId: string; taskId: string }, deps: GetTaskDeps): Promise<Task> {
  if (!isWellFormedTaskId(input.taskId)) throw new NotFoundError();
  // Owner-scoped read: another owner's task costs the same bytes and time as a missing one.
  // The comparison stays as a second line of defence for stores that ignore the option.
  const task = await deps.store.get(input.taskId, { ownerId: input.ownerId });
  if (!task || task.ownerId !== input.ownerId || isExpired(task, deps.clock().getTime())) {
    throw new NotFoundError();
  }
  return task;
}
