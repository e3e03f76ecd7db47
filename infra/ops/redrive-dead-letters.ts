import { taskLogFields } from '../../shared/metric-names.js';
import type { Clock, ListCursor, Log, TaskQueue, TaskStore } from '../../shared/ports.js';
import { DEAD_LETTERED_CODE, TaskStatus } from '../../shared/task.js';
import { taskMessageOf } from '../../shared/task-message.js';

export interface RedriveDeps {
  readonly store: TaskStore;
  readonly queue: TaskQueue;
  readonly clock: Clock;
  readonly log: Log;
}

export interface RedriveOptions {
  /** Only these tasks; all dead-lettered tasks when absent. */
  readonly taskIds?: readonly string[];
  /** Attempts granted on top of those already spent. */
  readonly extraAttempts: number;
  /** Report what would be re-queued without changing anything. */
  readonly dryRun?: boolean;
}

/**
 * The operator's way back from the dead-letter queue: once the cause of the crashes is fixed, tasks
 * that ended FAILED with `DeadLettered` go back to QUEUED with a fresh attempt budget.
 */
export async function redriveDeadLetters(options: RedriveOptions, deps: RedriveDeps): Promise<string[]> {
  const candidates = options.taskIds ?? (await deadLetteredTaskIds(deps.store));
  if (options.dryRun) return [...candidates];
  const requeued: string[] = [];
  for (const taskId of candidates) {
    const task = await deps.store.get(taskId);
    if (!task || !(await deps.store.requeueDeadLettered(taskId, options.extraAttempts, deps.clock()))) {
      deps.log.warn('not a dead-lettered task: skipped', taskLogFields({ taskId }));
      continue;
    }
    await deps.queue.enqueue(taskMessageOf(task));
    requeued.push(taskId);
    deps.log.info('dead-lettered task re-queued', taskLogFields(task));
  }
  return requeued;
}

async function deadLetteredTaskIds(store: TaskStore): Promise<string[]> {
  const ids: string[] = [];
  let cursor: ListCursor | undefined;
  do {
    const page = await store.scan({ statuses: [TaskStatus.Failed], errorCode: DEAD_LETTERED_CODE }, cursor);
    ids.push(...page.tasks.map((task) => task.taskId));
    cursor = page.cursor;
  } while (cursor);
  return ids;
}
