import { describe as describeCheck } from 'zod/v4/core';
import type { ErrorDetail } from '../../shared/errors.js';
import { TASK_PRIORITIES } from '../../shared/lanes.js';
import { TaskStatus, type TaskSummaryView, type TaskView } from '../../shared/task.js';
import * as z from '../../shared/zod.js';
import type { UploadTicket } from './create-upload.js';
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

export const CallbackViewSchema = z.object({
  url: z.string(),
  status: describe(
    z.enum(['PENDING', 'DELIVERED', 'FAILED']),
    'PENDING until the receiver answers 2xx for the terminal event (DELIVERED), or answers 410 or the 24-hour retry window ends (FAILED).',
  ),
  attempts: describe(z.int().check(z.minimum(0)), 'Deliveries tried for the current terminal event.'),
  lastStatusCode: describe(z.optional(z.int()), 'The receiver’s status on the latest attempt, when it answered.'),
  deliveredAt: z.optional(timestamp),
});

/** What `toTaskView` returns (shared/task.ts); kept in step by the type check below and a unit test. */
export const TaskViewSchema = z.object({
  taskId: z.uuid(),
  type: z.string(),
  status: TaskStatusSchema,
  lane: describe(z.string(), 'The lane it runs in: a queue and worker with their own timeout and concurrency.'),
  priority: describe(z.enum(TASK_PRIORITIES), '`high` tasks have a queue of their own, ahead of any backlog.'),
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
  callback: describe(z.optional(CallbackViewSchema), 'The completion callback, when submitted with `callbackUrl`.'),
  runAt: describe(z.optional(timestamp), 'When it was asked to start (`runAt`); it stays QUEUED until then.'),
  scheduleName: describe(z.optional(z.string()), 'The schedule whose firing submitted it.'),
  resultUrl: describe(
    z.optional(z.url()),
    'Instead of `result` when the result was too large for the task record: a presigned GET URL of its JSON, minted on each read and valid for minutes.',
  ),
  artifacts: describe(
    z.optional(
      z.array(
        z.object({
          name: z.string(),
          size: describe(z.int().check(z.minimum(0)), 'Bytes.'),
          contentType: z.string(),
          url: describe(z.url(), 'A presigned GET URL, minted on each read and valid for minutes.'),
        }),
      ),
    ),
    'Files the task wrote (`ctx.artifacts.put`), once it finished.',
  ),
});

/** A task in a listing: the view without its result or files (`toTaskSummaryView` in shared/task.ts). */
export const TaskSummarySchema = z.omit(TaskViewSchema, { result: true, resultUrl: true, artifacts: true });

/** `201` of `POST /tasks/uploads` (functions/api/create-upload.ts). */
export const UploadTicketSchema = z.object({
  uploadUrl: describe(
    z.url(),
    'PUT the payload’s JSON here, with exactly `contentLength` bytes (any other size is refused) and no Authorization header.',
  ),
  payloadRef: describe(z.string(), 'Submit `{"type", "payloadRef"}` once the upload is done.'),
  expiresAt: describe(z.iso.datetime(), 'The upload must start before this.'),
});

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
export type UploadTicketMatchesSchema = Assignable<UploadTicket, z.output<typeof UploadTicketSchema>>;
export type TasksByIdsMatchesSchema = Assignable<TasksByIds, z.output<typeof TasksByIdsSchema>>;
