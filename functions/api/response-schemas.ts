import { describe as describeCheck } from 'zod/v4/core';
import type { ErrorDetail } from '../../shared/errors.js';
import { TaskStatus, type TaskSummaryView, type TaskView } from '../../shared/task.js';
import * as z from '../../shared/zod.js';
import type { TasksByIds } from './get-tasks-by-ids.js';

/**
 * The zod schemas of what the API answers, for the OpenAPI document only (functions/api/openapi.ts):
 * the API builds its responses from shared/task.ts, so these are built only when the document is,
 * never at a cold start.
 */

/** Documentation the OpenAPI document shows for a schema (zod/mini has no `.meta()` method). */
const describe = <Schema extends z.ZodMiniType>(schema: Schema, description: string): Schema =>
  schema.check(describeCheck(description));

export const TaskStatusSchema = z.enum(Object.values(TaskStatus));

export const TaskErrorSchema = z.object({
  code: describe(z.string(), 'Stable, machine-readable reason.'),
  message: z.string(),
});

export const TaskProgressSchema = z.object({
  percent: z.number().check(z.minimum(0), z.maximum(100)),
  message: z.optional(z.string()),
});

const timestamp = z.iso.datetime();

/** What `toTaskView` returns (shared/task.ts); kept in step by the type check below and a unit test. */
export const TaskViewSchema = z.object({
  taskId: z.uuid(),
  type: z.string(),
  status: TaskStatusSchema,
  attempts: describe(z.int().check(z.minimum(0)), 'Attempts started so far.'),
  maxAttempts: z.int().check(z.minimum(1)),
  createdAt: timestamp,
  updatedAt: timestamp,
  startedAt: z.optional(timestamp),
  finishedAt: z.optional(timestamp),
  progress: describe(z.optional(TaskProgressSchema), 'Reported by the task while it is RUNNING.'),
  result: describe(z.optional(z.unknown()), 'The JSON returned by the task type, once SUCCEEDED.'),
  error: describe(z.optional(TaskErrorSchema), 'Why the task FAILED.'),
  lastError: describe(z.optional(TaskErrorSchema), 'Why the previous attempt failed, while a retry is pending.'),
  cancelRequested: describe(
    z.optional(z.literal(true)),
    'The owner asked a RUNNING task to stop; it will end CANCELLED.',
  ),
});

/** A task in a listing: the view without its result (`toTaskSummaryView` in shared/task.ts). */
export const TaskSummarySchema = z.omit(TaskViewSchema, { result: true });

export const TaskListingSchema = z.object({
  tasks: describe(
    z.array(TaskSummarySchema),
    'Summaries: no `result` (fetch the task for it). A page ends early rather than exceed 1 MiB.',
  ),
  nextCursor: describe(z.optional(z.string()), 'Pass as `cursor` for the next page; absent on the last.'),
});

export const ErrorDetailSchema = z.object({ path: z.string(), message: z.string() });

/** One item's result in `POST /tasks/batch`: accepted, or refused with the error of that item alone. */
export const BatchItemResultSchema = z.union([
  z.object({
    taskId: z.uuid(),
    status: TaskStatusSchema,
    location: describe(z.string(), 'Path of the task.'),
    replayed: describe(z.optional(z.literal(true)), 'An earlier submission with the same idempotencyKey.'),
  }),
  z.object({
    error: z.object({ code: z.string(), message: z.string(), details: z.optional(z.array(ErrorDetailSchema)) }),
  }),
]);

export const BatchSubmitResponseSchema = z.object({
  results: describe(z.array(BatchItemResultSchema), 'One result per item, in the order of the request.'),
});

/** `GET /tasks?ids=` (functions/api/get-tasks-by-ids.ts). */
export const TasksByIdsSchema = z.object({
  tasks: describe(
    z.array(TaskViewSchema),
    'Your tasks among the ids, in the order asked; another owner’s or an unknown id is absent.',
  ),
  nextIds: describe(
    z.optional(z.array(z.string())),
    'Ids not answered because the response reached 1 MiB: ask for them again.',
  ),
});

/** Every error the API Lambda answers (functions/api/http.ts `errorResponse`). */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.optional(z.array(ErrorDetailSchema)),
    requestId: describe(z.string(), 'Quote it when reporting a problem.'),
  }),
});

/** What API Gateway itself answers before the Lambda runs: no authorizer match, throttling, body over 10 MB. */
export const GatewayErrorSchema = z.object({ message: z.string() });

// Compile-time proof that the schemas describe what the code returns.
type Assignable<T extends U, U> = T;
export type TaskViewMatchesSchema = Assignable<TaskView, z.output<typeof TaskViewSchema>>;
export type TaskSummaryMatchesSchema = Assignable<TaskSummaryView, z.output<typeof TaskSummarySchema>>;
export type ErrorDetailMatchesSchema = Assignable<ErrorDetail, z.output<typeof ErrorDetailSchema>>;
export type TasksByIdsMatchesSchema = Assignable<TasksByIds, z.output<typeof TasksByIdsSchema>>;
