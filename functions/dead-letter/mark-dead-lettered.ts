import { TASK_COUNTS } from '../../shared/metric-names.js';
import type { Clock, Log, TaskStore } from '../../shared/ports.js';
import { parseTaskMessage } from '../../shared/task-message.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';

export interface MarkDeadLetteredDeps {
  readonly store: TaskStore;
  readonly clock: Clock;
  readonly log: Log;
  readonly ttlDays: number;
  /** Task events for the dashboard. @default not recorded */
  readonly metrics?: TaskMetrics;
}

/**
 * A message reaches the dead-letter queue when workers kept taking it without recording an
 * outcome (crash, timeout, out of memory). Its task would otherwise stay QUEUED or RUNNING forever.
 */
export async function markDeadLettered(
  delivery: { readonly messageId: string; readonly body: string },
  deps: MarkDeadLetteredDeps,
): Promise<void> {
  const message = parseTaskMessage(delivery.body);
  if (!message) {
    deps.log.error('malformed dead letter: dropped', { messageId: delivery.messageId });
    return;
  }
  const { taskId } = message;
  const now = deps.clock();
  const failed = await deps.store.failUnfinished(
    taskId,
    {
      code: 'DeadLettered',
      message: 'Delivered the maximum number of times without an outcome being recorded (worker crash or timeout).',
    },
    now,
    Math.floor(now.getTime() / 1000) + deps.ttlDays * 86_400,
  );
  if (failed) {
    deps.log.warn('task dead-lettered', { taskId, type: message.type, messageId: delivery.messageId });
    deps.metrics?.record(TASK_COUNTS.deadLettered, message.type);
  } else deps.log.info('dead letter for a task that already finished or is unknown', { taskId });
}
