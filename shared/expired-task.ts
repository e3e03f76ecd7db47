import type { CallbackQueue } from './callbacks/ports.js';
import { sendCallback } from './callbacks/send-callback.js';
import { routeOf } from './lanes.js';
import { LOG_KEYS, TASK_COUNTS, taskLogFields } from './metric-names.js';
import type { Clock, Log, TaskStore } from './ports.js';
import { isExpired, isTerminal, type Task, type TaskError, TaskStatus } from './task.js';
import type { TaskMetrics } from './task-metrics.js';
import { expiresAtAfter } from './time.js';

/** Error code of a task still unfinished when its time to live ran out. */
export const EXPIRED_CODE = 'Expired';

export interface EndExpiredDeps {
  readonly store: TaskStore;
  readonly clock: Clock;
  readonly log: Log;
  /** Days a task is kept: the ended task gets them afresh, so its end stays readable. */
  readonly ttlDays: number;
  readonly metrics?: TaskMetrics;
  readonly callbackQueue?: CallbackQueue;
}

/**
 * Ends a task still unfinished when its time to live (`ttlDays` from its submission or its `runAt`) ran out: FAILED
 * `Expired`, or CANCELLED if its owner had asked. Nothing else would: a claim refuses an expired task, and
 * DynamoDB's TTL would delete it unfinished, as if it had never been accepted. Reached by whatever meets it
 * first: a message of the task (a backlog, or a wait for the owner's slot, longer than the TTL), the
 * dead-letter handler, or the recovery sweep. True when this call ended it.
 */
export async function endExpired(task: Task, deps: EndExpiredDeps): Promise<boolean> {
  const now = deps.clock();
  if (isTerminal(task.status) || !isExpired(task, now.getTime())) return false;
  const error: TaskError = {
    code: EXPIRED_CODE,
    message: `The task was still ${task.status} when its time to live (${deps.ttlDays} days) ran out.`,
  };
  const result = await deps.store.endExpired(task.taskId, error, now, expiresAtAfter(now, deps.ttlDays));
  if (!result.ended) return false;
  const status = result.task?.status ?? TaskStatus.Failed;
  deps.log.warn('task expired unfinished: ended', { ...taskLogFields(task), [LOG_KEYS.status]: status });
  deps.metrics?.record(
    status === TaskStatus.Cancelled ? TASK_COUNTS.cancelled : TASK_COUNTS.failed,
    task.type,
    1,
    routeOf(task),
  );
  if (result.task) await sendCallback(result.task, deps.callbackQueue, deps.log);
  return true;
}
