import { ValidationError } from '../../shared/errors.js';
import type { ScheduleDefinition } from '../../shared/ports.js';
import { runAtResourceName } from '../../shared/schedule.js';
import type { Task } from '../../shared/task.js';
import { DAY_SECONDS } from '../../shared/time.js';

/** How far ahead `runAt` may be, and where the SQS delay hands over to a one-time schedule (settings.schedules). */
export interface RunAtLimits {
  readonly runAtQueueDelayMaxSeconds: number;
  readonly maxRunAtDays: number;
}

/** Clocks disagree: a `runAt` this little in the past means "now" rather than a mistake. */
export const RUN_AT_PAST_TOLERANCE_MS = 60_000;

/** How a task with a `runAt` starts. */
export interface RunAtPlan {
  /** The start time, normalised to UTC. */
  readonly runAt: string;
  readonly runAtMs: number;
  /** SQS delivery delay, when the start is within its reach. */
  readonly delaySeconds?: number;
  /** Further ahead than SQS can delay: a one-time schedule sends the message. */
  readonly viaSchedule: boolean;
}

/** Checks `runAt` against the limits and says how the task will wait for it. */
export function planRunAt(runAt: string, now: Date, limits: RunAtLimits): RunAtPlan {
  const runAtMs = Date.parse(runAt);
  const invalid = (message: string) =>
    new ValidationError('InvalidRunAt', message, [{ path: 'runAt', message: message.replace(/^runAt /, '') }]);
  if (runAtMs < now.getTime() - RUN_AT_PAST_TOLERANCE_MS) throw invalid('runAt is in the past.');
  if (runAtMs > now.getTime() + limits.maxRunAtDays * DAY_SECONDS * 1000) {
    throw invalid(`runAt is more than ${limits.maxRunAtDays} days ahead.`);
  }
  const waitMs = runAtMs - now.getTime();
  const plan = { runAt: new Date(runAtMs).toISOString(), runAtMs };
  if (waitMs <= 0) return { ...plan, viaSchedule: false };
  if (waitMs <= limits.runAtQueueDelayMaxSeconds * 1000) {
    return { ...plan, delaySeconds: Math.ceil(waitMs / 1000), viaSchedule: false };
  }
  return { ...plan, viaSchedule: true };
}

/** The one-time schedule that enqueues the task's message at its `runAt`, then deletes itself. */
export function runAtScheduleOf(task: Pick<Task, 'taskId' | 'runAtMs'>): ScheduleDefinition {
  return {
    name: runAtResourceName(task.taskId),
    expression: atExpression(new Date(task.runAtMs ?? 0)),
    timezone: 'UTC',
    enabled: true,
    target: { kind: 'runAt', taskId: task.taskId },
    deleteAfterCompletion: true,
  };
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, rounded up to the whole second so it never fires early. */
export function atExpression(when: Date): string {
  const seconds = Math.ceil(when.getTime() / 1000) * 1000;
  return `at(${new Date(seconds).toISOString().slice(0, 19)})`;
}
