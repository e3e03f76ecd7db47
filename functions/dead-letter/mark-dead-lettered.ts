import type { CallbackQueue } from '../../shared/callbacks/ports.js';
import { sendCallback } from '../../shared/callbacks/send-callback.js';
import { endExpired } from '../../shared/expired-task.js';
import { routeOf } from '../../shared/lanes.js';
import { LOG_KEYS, TASK_COUNTS, taskLogFields } from '../../shared/metric-names.js';
import type { Clock, Log, TaskStore } from '../../shared/ports.js';
import { DEAD_LETTERED_CODE, type TaskError, TaskStatus } from '../../shared/task.js';
import { parseTaskMessage } from '../../shared/task-message.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';
import { expiresAtAfter } from '../../shared/time.js';

export interface MarkDeadLetteredDeps {
  readonly store: TaskStore;
  readonly clock: Clock;
  readonly log: Log;
  readonly ttlDays: number;
  /**
   * How far the clocks of SQS and this function may disagree: a retry whose backoff ended less
   * than this ago counts as due, so its own message reaching the DLQ early does not strand it.
   */
  readonly clockToleranceMs: number;
  /** Task events for the dashboard. @default not recorded */
  readonly metrics?: TaskMetrics;
  /** Where a dead-lettered task's callback delivery is queued. @default callbacks are not sent */
  readonly callbackQueue?: CallbackQueue;
}

/** The error of a task whose message SQS gave up on. */
export const DEAD_LETTERED: TaskError = {
  code: DEAD_LETTERED_CODE,
  message: 'Delivered the maximum number of times without an outcome being recorded (worker crash or timeout).',
};

/**
 * A message reaches the dead-letter queue when workers kept taking it without recording an
 * outcome (crash, timeout, out of memory). Its task fails, unless something else still drives it:
 * an attempt under a live lease (a duplicate message dead-lettered while it runs), or a retry
 * waiting for its backoff (its own message comes back then). Those are left alone: failing them
 * would fence out an outcome about to be recorded.
 */
export async function markDeadLettered(
  delivery: { readonly messageId: string; readonly body: string },
  deps: MarkDeadLetteredDeps,
): Promise<void> {
  const message = parseTaskMessage(delivery.body);
  if (!message) {
    deps.log.error('malformed dead letter: dropped', { [LOG_KEYS.messageId]: delivery.messageId });
    return;
  }
  const { taskId } = message;
  const now = deps.clock();
  const expiresAt = expiresAtAfter(now, deps.ttlDays);
  const result = await deps.store.failAbandoned(taskId, DEAD_LETTERED, now, expiresAt, deps.clockToleranceMs);
  if (result.ended) {
    deps.log.warn('task dead-lettered', {
      ...taskLogFields({ taskId }, delivery.messageId),
      ...(result.task && { [LOG_KEYS.status]: result.task.status }),
    });
    // The message's type is informative only; the count goes to the service-wide dimension if it is missing.
    deps.metrics?.record(TASK_COUNTS.deadLettered, message.type ?? '', 1, routeOf(message));
    if (result.task) await sendCallback(result.task, deps.callbackQueue, deps.log);
    return;
  }
  const task = result.task;
  // Past its time to live nothing would ever claim it: it ends Expired rather than wait for TTL's delete.
  if (task && (await endExpired(task, deps))) return;
  const still = task && (task.status === TaskStatus.Queued || task.status === TaskStatus.Running);
  deps.log.info(
    still ? 'dead letter for a task that is still driven: left alone' : 'dead letter for a finished or unknown task',
    { ...taskLogFields({ taskId, attempt: task?.attempt }), [LOG_KEYS.status]: task?.status },
  );
}
