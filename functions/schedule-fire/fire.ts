import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../../shared/canonical-json.js';
import { ConflictError, ValidationError } from '../../shared/errors.js';
import type { ScheduleStore } from '../../shared/ports.js';
import {
  firingIdempotencyKey,
  type Schedule,
  type ScheduleFiring,
  scheduleResourceName,
} from '../../shared/schedule.js';
import { type Task, TaskStatus } from '../../shared/task.js';
import { taskMessageOf } from '../../shared/task-message.js';
import { expiresAtAfter, remainingDelaySeconds } from '../../shared/time.js';
import * as z from '../../shared/zod.js';
import { type SubmitTaskDeps, submitTask, taskIdFromKey } from '../api/submit-task.js';

export interface FireDeps extends SubmitTaskDeps {
  readonly scheduleStore: ScheduleStore;
}

/** What one firing did, for the log and the tests. */
export type FireReport =
  | { readonly outcome: 'submitted' | 'duplicate' | 'invalid'; readonly taskId: string }
  | { readonly outcome: 'enqueued'; readonly taskId: string }
  | { readonly outcome: 'skipped'; readonly reason: string };

/** The code of the FAILED task a firing records when the schedule's task no longer validates. */
export const INVALID_SCHEDULED_TASK_CODE = 'InvalidScheduledTask';

const FiringSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('schedule'),
    ownerId: z.string().check(z.minLength(1)),
    name: z.string().check(z.minLength(1)),
    scheduledTime: z.string().check(z.minLength(1)),
  }),
  z.object({ kind: z.literal('runAt'), taskId: z.string().check(z.minLength(1)), scheduledTime: z.string() }),
]);

/**
 * What EventBridge Scheduler invokes (the fire function). A schedule's firing submits its task through
 * the same code as `POST /tasks`, keyed by schedule and scheduled time, so a repeated firing finds the
 * task the first one created. A `runAt` firing sends the waiting task's message. Throws only what a
 * retry can fix (the table or queue unreachable); everything else is answered and logged.
 */
export async function fire(event: unknown, deps: FireDeps): Promise<FireReport> {
  const parsed = z.safeParse(FiringSchema, event);
  if (!parsed.success) {
    deps.log.error('malformed schedule firing: dropped');
    return { outcome: 'skipped', reason: 'malformed' };
  }
  const firing = parsed.data as ScheduleFiring;
  return firing.kind === 'runAt' ? startRunAt(firing.taskId, deps) : fireSchedule(firing, deps);
}

async function fireSchedule(firing: Extract<ScheduleFiring, { kind: 'schedule' }>, deps: FireDeps) {
  const logged = { schedule: scheduleResourceName(firing.ownerId, firing.name), scheduledTime: firing.scheduledTime };
  const schedule = await deps.scheduleStore.get(firing.ownerId, firing.name);
  // Deleted or disabled while Scheduler still held it (a deletion half done, a firing already on its way).
  if (!schedule?.enabled) {
    deps.log.info('firing of a deleted or disabled schedule: nothing submitted', logged);
    return { outcome: 'skipped', reason: schedule ? 'disabled' : 'deleted' } as const;
  }
  const idempotencyKey = firingIdempotencyKey(schedule.name, firing.scheduledTime);
  try {
    const { task, created } = await submitTask(
      { ...schedule.task, ownerId: schedule.ownerId, idempotencyKey, scheduleName: schedule.name },
      deps,
    );
    deps.log.info(created ? 'schedule fired' : 'repeated firing: task already submitted', {
      ...logged,
      taskId: task.taskId,
    });
    return { outcome: created ? 'submitted' : 'duplicate', taskId: task.taskId } as const;
  } catch (error) {
    // The same firing again after the task changed: the task of this time exists already.
    if (error instanceof ConflictError && error.code === 'IdempotencyKeyReused') {
      deps.log.info('repeated firing: task already submitted', logged);
      return { outcome: 'duplicate', taskId: taskIdFromKey(schedule.ownerId, idempotencyKey) } as const;
    }
    if (!(error instanceof ValidationError)) throw error;
    return recordInvalid(schedule, idempotencyKey, error, deps);
  }
}

/**
 * The task type was removed or its schema changed since the schedule was made: the owner sees a FAILED
 * task, with the reason, where the firing's task would have been, instead of nothing at all.
 */
async function recordInvalid(schedule: Schedule, idempotencyKey: string, error: ValidationError, deps: FireDeps) {
  const now = deps.clock();
  const timestamp = now.toISOString();
  const taskId = taskIdFromKey(schedule.ownerId, idempotencyKey);
  const details = error.details.map((detail) => `${detail.path}: ${detail.message}`).join('; ');
  const task: Task = {
    taskId,
    ownerId: schedule.ownerId,
    type: schedule.task.type,
    status: TaskStatus.Failed,
    payload: schedule.task.payload,
    payloadHash: sha256Hex(
      canonicalJson({ type: schedule.task.type, payload: schedule.task.payload, delaySeconds: 0 }),
    ),
    idempotencyKey,
    scheduleName: schedule.name,
    attempt: 0,
    maxAttempts: 1,
    createdAt: timestamp,
    updatedAt: timestamp,
    finishedAt: timestamp,
    error: {
      code: INVALID_SCHEDULED_TASK_CODE,
      message: `The schedule's task no longer validates (${error.code}: ${error.message}${details ? ` ${details}` : ''}). Update the schedule's task.`,
    },
    expiresAt: expiresAtAfter(now, deps.ttlDays),
    lastWriteId: randomUUID(),
  };
  // Already there: a repeated firing recorded it before.
  await deps.store.create(task, now.getTime());
  deps.log.warn('schedule fired a task that no longer validates: recorded FAILED', {
    schedule: scheduleResourceName(schedule.ownerId, schedule.name),
    taskId,
    errorCode: error.code,
  });
  return { outcome: 'invalid', taskId } as const;
}

/** A task whose `runAt` has come: its message, unless it was cancelled (or has run) meanwhile. */
async function startRunAt(taskId: string, deps: FireDeps): Promise<FireReport> {
  const task = await deps.store.get(taskId);
  if (!task || task.status !== TaskStatus.Queued) {
    deps.log.info('runAt firing for a task no longer waiting: nothing sent', { taskId, status: task?.status });
    return { outcome: 'skipped', reason: task ? task.status : 'unknown task' };
  }
  // Scheduler fires within a minute of the time: a firing ahead of it waits out the rest in SQS.
  const delaySeconds = remainingDelaySeconds(task.runAtMs, deps.clock().getTime());
  await deps.queue.enqueue(taskMessageOf(task), { delaySeconds });
  deps.log.info('runAt reached: task enqueued', { taskId, type: task.type });
  return { outcome: 'enqueued', taskId };
}
