import { LIST_PAGE_SIZE } from '../../shared/api-routes.js';
import { SCHEDULE_NAME } from '../../shared/schedule.js';
import * as z from '../../shared/zod.js';
import { SubmitBody } from './schemas.js';

/**
 * The zod schemas of the schedule routes' requests, for the API and its OpenAPI document. A
 * schedule's task is the body of `POST /tasks` without its timing: what that body gains (a callback
 * URL, a priority), a schedule's task gains too.
 */
/** `POST /tasks`'s body without its timing, nor a `payloadRef`: an upload expires, a schedule goes on firing. */
export const TaskTemplateSchema = z.omit(SubmitBody, { delaySeconds: true, runAt: true, payloadRef: true });

export const ScheduleNameSchema = z
  .string()
  .check(z.regex(SCHEDULE_NAME, 'must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-"'));

const expression = z.string().check(z.minLength(1), z.maxLength(256));
const timezone = z.string().check(z.minLength(1), z.maxLength(64));
const timestamp = z.iso.datetime({ offset: true });

/** `POST /schedules`. */
export const CreateScheduleBody = z.strictObject({
  name: ScheduleNameSchema,
  /** `cron(minutes hours day-of-month month day-of-week year)` or `rate(value unit)`, as EventBridge Scheduler reads them. */
  expression,
  /** IANA time zone the expression is read in. @default UTC */
  timezone: z.optional(timezone),
  task: TaskTemplateSchema,
  startAt: z.optional(timestamp),
  endAt: z.optional(timestamp),
  enabled: z.optional(z.boolean()),
});

/** `PATCH /schedules/{name}`: any of these, at least one. */
export const UpdateScheduleBody = z.strictObject({
  expression: z.optional(expression),
  timezone: z.optional(timezone),
  task: z.optional(TaskTemplateSchema),
  enabled: z.optional(z.boolean()),
});

/** `GET /schedules` query string. */
export const ListSchedulesQuery = z.strictObject({
  limit: z._default(
    z.coerce.number().check(z.int(), z.minimum(1), z.maximum(LIST_PAGE_SIZE.max)),
    LIST_PAGE_SIZE.default,
  ),
  cursor: z.optional(z.string().check(z.maxLength(2048))),
});
