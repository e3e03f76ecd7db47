import { sha256Hex } from './canonical-json.js';

/**
 * What a schedule submits at each firing: the body of `POST /tasks` without its timing (`delaySeconds`,
 * `runAt`). Fields other features add to that body (a callback URL, a priority) come along unchanged.
 */
export interface TaskTemplate {
  readonly type: string;
  readonly payload: unknown;
  readonly [field: string]: unknown;
}

/**
 * A recurring schedule as stored: one item of the schedule table, keyed by owner and name. The table
 * is the source of truth for what a firing submits; EventBridge Scheduler holds the timing
 * (docs/architecture.md, "Schedules").
 */
export interface Schedule {
  readonly ownerId: string;
  /** The owner's name for it: unique per owner, 1-64 of `A-Z a-z 0-9 . _ -`. */
  readonly name: string;
  /** `cron(...)` or `rate(...)`, as Scheduler takes it. */
  readonly expression: string;
  /** IANA time zone the expression is read in. */
  readonly timezone: string;
  readonly task: TaskTemplate;
  /** ISO timestamps: no firing before `startAt`, none at or after `endAt`. */
  readonly startAt?: string;
  readonly endAt?: string;
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  /**
   * When Scheduler was last given the timing (expression, time zone, state): a rate schedule without
   * `startAt` counts its intervals from there.
   */
  readonly timingSetAt: string;
  /** Random id of the latest write, so a writer whose reply was lost recognises its own write. */
  readonly lastWriteId?: string;
}

/** A schedule as its owner sees it over HTTP. */
export interface ScheduleView {
  readonly name: string;
  readonly expression: string;
  readonly timezone: string;
  readonly task: TaskTemplate;
  readonly startAt?: string;
  readonly endAt?: string;
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The next firing; absent when disabled or past `endAt`. */
  readonly nextRunAt?: string;
}

/** A schedule in a listing: the task's type only, not its payload (up to 256 KiB each). */
export type ScheduleSummaryView = Omit<ScheduleView, 'task'> & { readonly task: { readonly type: string } };

/** A page of `GET /schedules`: the API's answer and the client's type alike. */
export interface ScheduleListing {
  readonly schedules: readonly ScheduleSummaryView[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  readonly nextCursor?: string;
}

export function toScheduleView(schedule: Schedule, nextRunAt: Date | undefined): ScheduleView {
  return {
    name: schedule.name,
    expression: schedule.expression,
    timezone: schedule.timezone,
    task: schedule.task,
    ...(schedule.startAt && { startAt: schedule.startAt }),
    ...(schedule.endAt && { endAt: schedule.endAt }),
    enabled: schedule.enabled,
    createdAt: schedule.createdAt,
    updatedAt: schedule.updatedAt,
    ...(nextRunAt && { nextRunAt: nextRunAt.toISOString() }),
  };
}

export function toScheduleSummaryView(schedule: Schedule, nextRunAt: Date | undefined): ScheduleSummaryView {
  return { ...toScheduleView(schedule, nextRunAt), task: { type: schedule.task.type } };
}

/** Schedule names: what Scheduler allows in its own names, so they read the same in both places. */
export const SCHEDULE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The name of the owner's schedule in EventBridge Scheduler. Owner ids (JWT subjects, ARNs) cannot be
 * part of a Scheduler name, and two owners may use one name: a hash of both is unique in the group.
 */
export const scheduleResourceName = (ownerId: string, name: string): string =>
  `s-${sha256Hex(`${ownerId}\n${name}`).slice(0, 40)}`;

/** The name of the one-time schedule that starts a task whose `runAt` is beyond the SQS delay. */
export const runAtResourceName = (taskId: string): string => `t-${taskId}`;

/**
 * What a schedule's target (the fire function) receives: which schedule or task, and the time the
 * firing was scheduled for (`<aws.scheduler.scheduled-time>`, filled in by Scheduler).
 */
export type ScheduleFiring =
  | { readonly kind: 'schedule'; readonly ownerId: string; readonly name: string; readonly scheduledTime: string }
  | { readonly kind: 'runAt'; readonly taskId: string; readonly scheduledTime: string };

/** A firing without its time: what a schedule is created with. */
export type FiringTarget = DistributiveOmit<ScheduleFiring, 'scheduledTime'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The Idempotency-Key of the task a firing submits: one per schedule and scheduled time, so a
 * duplicate firing (Scheduler delivers at least once, and retries) finds the task it created. The
 * newlines keep it apart from every key a caller can send (the API refuses control characters).
 */
export const firingIdempotencyKey = (name: string, scheduledTime: string): string =>
  `schedule\n${name}\n${scheduledTime}`;
