import { describe as describeCheck } from 'zod/v4/core';
import type { ScheduleSummaryView, ScheduleView } from '../../shared/schedule.js';
import * as z from '../../shared/zod.js';
import { TaskTemplateSchema } from './schedule-schemas.js';

/** What the schedule routes answer, for the OpenAPI document only (built when the document is). */
const describe = <Schema extends z.ZodMiniType>(schema: Schema, description: string): Schema =>
  schema.check(describeCheck(description));

const timestamp = z.iso.datetime();

/** What `toScheduleView` returns (shared/schedule.ts); kept in step by the type check below. */
export const ScheduleViewSchema = z.object({
  name: z.string(),
  expression: describe(z.string(), '`cron(...)` or `rate(...)`, as EventBridge Scheduler reads it.'),
  timezone: describe(z.string(), 'IANA time zone the expression is read in.'),
  task: describe(TaskTemplateSchema, 'What each firing submits, as `POST /tasks` would.'),
  startAt: z.optional(timestamp),
  endAt: z.optional(timestamp),
  enabled: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
  nextRunAt: describe(z.optional(timestamp), 'The next firing; absent when disabled or past `endAt`.'),
});

export const ScheduleSummarySchema = z.extend(ScheduleViewSchema, {
  task: describe(z.object({ type: z.string() }), 'The task type only: read the schedule for its payload.'),
});

export const ScheduleListingSchema = z.object({
  schedules: z.array(ScheduleSummarySchema),
  nextCursor: describe(z.optional(z.string()), 'Pass as `cursor` for the next page; absent on the last.'),
});

// Compile-time proof that the schemas describe what the code returns.
type Assignable<T extends U, U> = T;
export type ScheduleViewMatchesSchema = Assignable<ScheduleView, z.output<typeof ScheduleViewSchema>>;
export type ScheduleSummaryMatchesSchema = Assignable<ScheduleSummaryView, z.output<typeof ScheduleSummarySchema>>;
