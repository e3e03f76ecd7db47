import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import type { Clock, ListCursor, Log, ScheduleDefinition, ScheduleService, ScheduleStore } from '../../shared/ports.js';
import {
  SCHEDULE_NAME,
  type Schedule,
  type ScheduleListing,
  type ScheduleView,
  scheduleResourceName,
  type TaskTemplate,
  toScheduleSummaryView,
  toScheduleView,
} from '../../shared/schedule.js';
import { canonicalTimeZone, nextRun, parseScheduleExpression } from '../../shared/schedule-expression.js';
import * as z from '../../shared/zod.js';
import type { TaskRegistry } from '../tasks/define-task.js';
import { CreateScheduleBody, ListSchedulesQuery, UpdateScheduleBody } from './schedule-schemas.js';
import { checkedCallbackUrl, checkTaskPayload, laneOf } from './submit-task.js';
import { issuesToDetails } from './validation.js';

export interface ScheduleDeps {
  readonly scheduleStore: ScheduleStore;
  readonly scheduler: ScheduleService;
  readonly registry: TaskRegistry;
  readonly clock: Clock;
  readonly log: Log;
  readonly maxPerOwner: number;
  /** The lanes the deployment has, which a schedule's task may name. @default the default lane alone */
  readonly lanes?: readonly string[];
  /** Checks a callback URL a schedule's task carries, as POST /tasks does. @default callbacks are refused */
  readonly checkCallbackUrl?: (url: string) => Promise<string>;
}

/** Scheduler refuses a start date further back than this (and so do we, before asking it). */
const START_IN_PAST_TOLERANCE_MS = 5 * 60_000;

/**
 * Creates the owner's schedule: the record first (the table is what a firing reads), then the schedule
 * in EventBridge Scheduler. Nothing stays behind when a step fails: the record is taken back.
 */
export async function createSchedule(
  input: { ownerId: string; body: unknown },
  deps: ScheduleDeps,
): Promise<ScheduleView> {
  const body = parseBody(CreateScheduleBody, input.body);
  const now = deps.clock();
  const expression = checkExpression(body.expression);
  const timezone = checkTimeZone(body.timezone ?? 'UTC');
  checkWindow(body.startAt, body.endAt, now);
  const task = await checkTask(body.task as TaskTemplate, deps);
  const timestamp = now.toISOString();
  const schedule: Schedule = {
    ownerId: input.ownerId,
    name: body.name,
    expression,
    timezone,
    task,
    ...(body.startAt && { startAt: new Date(body.startAt).toISOString() }),
    ...(body.endAt && { endAt: new Date(body.endAt).toISOString() }),
    enabled: body.enabled ?? true,
    createdAt: timestamp,
    updatedAt: timestamp,
    timingSetAt: timestamp,
    lastWriteId: randomUUID(),
  };
  const writeId = schedule.lastWriteId ?? '';
  if ((await deps.scheduleStore.create(schedule)) === 'exists') {
    throw new ConflictError(`You already have a schedule named "${body.name}".`, 'ScheduleExists');
  }
  // Counted after the write, so two creations racing for the last place cannot both keep it.
  if ((await deps.scheduleStore.count(input.ownerId)) > deps.maxPerOwner) {
    await deps.scheduleStore.discard(input.ownerId, body.name, writeId);
    throw new ValidationError('TooManySchedules', `You have ${deps.maxPerOwner} schedules, the most allowed.`);
  }
  try {
    await deps.scheduler.put(definitionOf(schedule, now));
  } catch (error) {
    await deps.scheduleStore.discard(input.ownerId, body.name, writeId).catch((discardError: unknown) => {
      deps.log.error('could not take back a schedule record whose Scheduler schedule failed', { error: discardError });
    });
    throw error;
  }
  deps.log.info('schedule created', { schedule: scheduleResourceName(input.ownerId, body.name) });
  return toScheduleView(schedule, nextRunOf(schedule, now));
}

export async function getSchedule(input: { ownerId: string; name: string }, deps: ScheduleDeps): Promise<ScheduleView> {
  const schedule = await findSchedule(input, deps);
  return toScheduleView(schedule, nextRunOf(schedule, deps.clock()));
}

/** The owner's schedules by name, a page of summaries at a time (the task's type, not its payload). */
export async function listSchedules(
  input: { ownerId: string; query: Readonly<Record<string, string | undefined>> },
  deps: ScheduleDeps,
): Promise<ScheduleListing> {
  const parsed = z.safeParse(ListSchedulesQuery, input.query);
  if (!parsed.success) {
    throw new ValidationError('InvalidQuery', 'The query string is not valid.', issuesToDetails(parsed.error.issues));
  }
  const { limit, cursor } = parsed.data;
  const page = await deps.scheduleStore.list(input.ownerId, {
    limit,
    cursor: cursor === undefined ? undefined : decodeCursor(cursor, input.ownerId),
  });
  const now = deps.clock();
  return {
    schedules: page.schedules.map((schedule) => toScheduleSummaryView(schedule, nextRunOf(schedule, now))),
    ...(page.cursor && { nextCursor: encodeCursor(page.cursor) }),
  };
}

/**
 * Changes the expression, time zone, task or state. The record is written first, conditioned on the
 * version read; Scheduler is told only when the timing or state changed, and if it refuses, the
 * record is put back as it was.
 */
export async function updateSchedule(
  input: { ownerId: string; name: string; body: unknown },
  deps: ScheduleDeps,
): Promise<ScheduleView> {
  const body = parseBody(UpdateScheduleBody, input.body);
  if (Object.keys(body).length === 0) {
    throw new ValidationError('InvalidRequest', 'Send at least one of expression, timezone, task, enabled.');
  }
  const expression = body.expression === undefined ? undefined : checkExpression(body.expression);
  const timezone = body.timezone === undefined ? undefined : checkTimeZone(body.timezone);
  const task = body.task === undefined ? undefined : await checkTask(body.task as TaskTemplate, deps);
  // Another request may change the schedule between our read and write: read again and redo.
  for (let round = 0; round < 3; round++) {
    const current = await findSchedule(input, deps);
    const now = deps.clock();
    const changed: Schedule = {
      ...current,
      ...(expression !== undefined && { expression }),
      ...(timezone !== undefined && { timezone }),
      ...(task !== undefined && { task }),
      ...(body.enabled !== undefined && { enabled: body.enabled }),
      updatedAt: now.toISOString(),
      lastWriteId: randomUUID(),
    };
    const timingChanged =
      changed.expression !== current.expression ||
      changed.timezone !== current.timezone ||
      changed.enabled !== current.enabled;
    const next = timingChanged ? { ...changed, timingSetAt: now.toISOString() } : changed;
    if (!(await deps.scheduleStore.replace(next, current.lastWriteId ?? ''))) continue;
    if (timingChanged) {
      try {
        await deps.scheduler.put(definitionOf(next, now));
      } catch (error) {
        await deps.scheduleStore
          .replace({ ...current, lastWriteId: randomUUID() }, next.lastWriteId ?? '')
          .catch((revertError: unknown) => {
            deps.log.error('could not put a schedule record back after Scheduler refused the change', {
              error: revertError,
            });
          });
        throw error;
      }
    }
    deps.log.info('schedule updated', { schedule: scheduleResourceName(input.ownerId, input.name), timingChanged });
    return toScheduleView(next, nextRunOf(next, now));
  }
  throw new ConflictError('The schedule kept changing while it was being updated; try again.', 'ScheduleChanged');
}

/**
 * Deletes the Scheduler schedule first, then the record: a failure leaves the schedule as it was (it
 * still fires) or only the record (it no longer fires); deleting again finishes the job.
 */
export async function deleteSchedule(input: { ownerId: string; name: string }, deps: ScheduleDeps): Promise<void> {
  await findSchedule(input, deps);
  await deps.scheduler.delete(scheduleResourceName(input.ownerId, input.name));
  await deps.scheduleStore.delete(input.ownerId, input.name);
  deps.log.info('schedule deleted', { schedule: scheduleResourceName(input.ownerId, input.name) });
}

/** The owner's schedule; another owner's is a 404, as a missing one, and a malformed name costs no read. */
async function findSchedule(input: { ownerId: string; name: string }, deps: ScheduleDeps): Promise<Schedule> {
  const schedule = SCHEDULE_NAME.test(input.name) ? await deps.scheduleStore.get(input.ownerId, input.name) : undefined;
  if (!schedule || schedule.ownerId !== input.ownerId) throw new NotFoundError('No such schedule.');
  return schedule;
}

/** What Scheduler holds for the schedule: its timing, and the owner and name the firing reads the record by. */
function definitionOf(schedule: Schedule, now: Date): ScheduleDefinition {
  const startAt = schedule.startAt ? new Date(schedule.startAt) : undefined;
  return {
    name: scheduleResourceName(schedule.ownerId, schedule.name),
    expression: schedule.expression,
    timezone: schedule.timezone,
    // Scheduler refuses a start date in the past: one that has passed has done its job.
    ...(startAt && startAt.getTime() > now.getTime() && { startAt }),
    ...(schedule.endAt && { endAt: new Date(schedule.endAt) }),
    enabled: schedule.enabled,
    target: { kind: 'schedule', ownerId: schedule.ownerId, name: schedule.name },
  };
}

/** The next firing as Scheduler will make it; undefined when disabled or past `endAt`. */
function nextRunOf(schedule: Schedule, now: Date): Date | undefined {
  if (!schedule.enabled) return undefined;
  const parsed = parseScheduleExpression(schedule.expression);
  if (!parsed.ok) return undefined;
  return nextRun(parsed.value, now, {
    timezone: schedule.timezone,
    startAt: schedule.startAt ? new Date(schedule.startAt) : undefined,
    endAt: schedule.endAt ? new Date(schedule.endAt) : undefined,
    rateAnchor: new Date(schedule.timingSetAt),
  });
}

function parseBody<Schema extends z.ZodMiniType>(schema: Schema, body: unknown): z.output<Schema> {
  const parsed = z.safeParse(schema, body);
  if (!parsed.success) {
    throw new ValidationError('InvalidRequest', 'The request body is not a valid schedule.', [
      ...issuesToDetails(parsed.error.issues),
    ]);
  }
  return parsed.data;
}

function checkExpression(text: string): string {
  const parsed = parseScheduleExpression(text);
  if (!parsed.ok) {
    throw new ValidationError(
      'InvalidExpression',
      `The expression "${text.slice(0, 100)}" is not valid: ${parsed.problem}.`,
      [{ path: 'expression', message: parsed.problem }],
    );
  }
  return parsed.value.expression;
}

function checkTimeZone(name: string): string {
  const canonical = canonicalTimeZone(name);
  if (canonical === undefined) {
    throw new ValidationError('InvalidTimeZone', `Unknown time zone "${name.slice(0, 64)}": use an IANA name.`, [
      { path: 'timezone', message: 'must be an IANA time zone, e.g. Europe/Berlin or UTC' },
    ]);
  }
  return canonical;
}

function checkWindow(startAt: string | undefined, endAt: string | undefined, now: Date): void {
  const invalid = (path: string, message: string) =>
    new ValidationError('InvalidScheduleWindow', message, [{ path, message }]);
  const start = startAt === undefined ? undefined : Date.parse(startAt);
  const end = endAt === undefined ? undefined : Date.parse(endAt);
  if (start !== undefined && start < now.getTime() - START_IN_PAST_TOLERANCE_MS) {
    throw invalid('startAt', 'startAt is in the past.');
  }
  if (end !== undefined && end <= now.getTime()) throw invalid('endAt', 'endAt is in the past.');
  if (start !== undefined && end !== undefined && end <= start) throw invalid('endAt', 'endAt is not after startAt.');
}

/** The task as a firing will submit it, checked now rather than at the first firing. */
/**
 * A schedule's task, checked as its firings will check it (type, payload, lane, callback URL), so a
 * schedule that cannot submit is refused now rather than at its first firing.
 */
async function checkTask(task: TaskTemplate, deps: ScheduleDeps): Promise<TaskTemplate> {
  const definition = checkTaskPayload(task.type, task.payload, deps.registry, 'task.');
  laneOf(typeof task.lane === 'string' ? task.lane : undefined, definition, deps, 'task.');
  if (typeof task.callbackUrl !== 'string') return task;
  return { ...task, callbackUrl: await checkedCallbackUrl(task.callbackUrl, deps, 'task.') };
}

const encodeCursor = (cursor: ListCursor): string => Buffer.from(JSON.stringify(cursor)).toString('base64url');

const CursorSchema = z.strictObject({
  ownerId: z.string().check(z.minLength(1)),
  name: z.string().check(z.regex(SCHEDULE_NAME)),
});

/** A cursor is only good for the owner it was issued to. */
function decodeCursor(text: string, ownerId: string): ListCursor {
  const invalid = () => new ValidationError('InvalidCursor', 'The cursor is not one this API issued to you.');
  let cursor: z.infer<typeof CursorSchema>;
  try {
    cursor = CursorSchema.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw invalid();
  }
  if (cursor.ownerId !== ownerId) throw invalid();
  return cursor;
}
