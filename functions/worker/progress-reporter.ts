import { taskLogFields } from '../../shared/metric-names.js';
import type { Clock, Log, TaskStore } from '../../shared/ports.js';
import type { Task, TaskProgress } from '../../shared/task.js';

/** At most one progress write per task per second: each write costs a write unit per KB of the item. */
const MIN_WRITE_INTERVAL_MS = 1_000;
const MAX_MESSAGE_LENGTH = 200;

export interface ProgressReporter {
  /** Records progress; never throws, never blocks the handler. The latest value wins. */
  report(percent: number, message?: string): void;
  stop(): void;
}

/**
 * Throttled progress writes (leading and trailing edge). Each write is fenced on the attempt and
 * returns the item (or nothing once the attempt is no longer current), so it also tells the
 * attempt, at no extra cost, that a cancel was requested or that it lost the task.
 */
export function createProgressReporter(
  task: Pick<Task, 'taskId' | 'attempt'>,
  deps: { readonly store: TaskStore; readonly clock: Clock; readonly log: Log },
  watch: { observe(current: Task | undefined): void },
): ProgressReporter {
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  let pending: TaskProgress | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const flush = () => {
    timer = undefined;
    const progress = pending;
    pending = undefined;
    if (!progress || stopped) return;
    const now = deps.clock();
    lastWriteAt = now.getTime();
    deps.store.progress(task.taskId, task.attempt, progress, now).then(
      (current) => {
        if (!stopped) watch.observe(current);
      },
      (error: unknown) => deps.log.warn('progress write failed', { ...taskLogFields(task), error }),
    );
  };

  return {
    report(percent, message) {
      if (stopped || !Number.isFinite(percent)) return;
      pending = {
        percent: Math.min(100, Math.max(0, Math.round(percent * 10) / 10)),
        ...(message !== undefined && { message: String(message).slice(0, MAX_MESSAGE_LENGTH) }),
      };
      const wait = lastWriteAt + MIN_WRITE_INTERVAL_MS - deps.clock().getTime();
      if (wait <= 0) flush();
      else timer ??= setTimeout(flush, wait).unref();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
