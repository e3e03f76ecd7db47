import * as z from 'zod';
import { LIST_PAGE_SIZE } from '../../shared/api-routes.js';
import type { ErrorDetail } from '../../shared/errors.js';
import { checkStorableJson } from '../../shared/storable-json.js';
import { TaskStatus, type TaskSummaryView, type TaskView } from '../../shared/task.js';

/**
 * The zod schemas of the HTTP contract. The API validates requests with them and the OpenAPI
 * document (functions/api/openapi.ts) is generated from them, so the two cannot drift apart.
 */

/** `POST /tasks`: the envelope; the payload is checked against the task type's own schema. */
export const SubmitBody = z.strictObject({
  type: z.string().min(1).max(64),
  /** Optional for task types whose schema accepts an empty object. */
  payload: z.unknown().default({}).superRefine(checkStorableJson),
  /** SQS allows at most 15 minutes of delivery delay. */
  delaySeconds: z.int().min(0).max(900).optional(),
});

/** `GET /tasks` query string. */
export const ListQuery = z.strictObject({
  status: z.enum(Object.values(TaskStatus)).optional(),
  limit: z.coerce.number().int().min(1).max(LIST_PAGE_SIZE.max).default(LIST_PAGE_SIZE.default),
  cursor: z.string().max(2048).optional(),
});

export const TaskStatusSchema = z.enum(Object.values(TaskStatus));

export const TaskErrorSchema = z.object({
  code: z.string().meta({ description: 'Stable, machine-readable reason.' }),
  message: z.string(),
});

export const TaskProgressSchema = z.object({
  percent: z.number().min(0).max(100),
  message: z.string().optional(),
});

const timestamp = z.iso.datetime();

/** What `toTaskView` returns (shared/task.ts); kept in step by the type check below and a unit test. */
export const TaskViewSchema = z.object({
  taskId: z.uuid(),
  type: z.string(),
  status: TaskStatusSchema,
  attempts: z.int().min(0).meta({ description: 'Attempts started so far.' }),
  maxAttempts: z.int().min(1),
  createdAt: timestamp,
  updatedAt: timestamp,
  startedAt: timestamp.optional(),
  finishedAt: timestamp.optional(),
  progress: TaskProgressSchema.optional().meta({ description: 'Reported by the task while it is RUNNING.' }),
  result: z.unknown().optional().meta({ description: 'The JSON returned by the task type, once SUCCEEDED.' }),
  error: TaskErrorSchema.optional().meta({ description: 'Why the task FAILED.' }),
  lastError: TaskErrorSchema.optional().meta({
    description: 'Why the previous attempt failed, while a retry is pending.',
  }),
  cancelRequested: z
    .literal(true)
    .optional()
    .meta({ description: 'The owner asked a RUNNING task to stop; it will end CANCELLED.' }),
});

/** A task in a listing: the view without its result (`toTaskSummaryView` in shared/task.ts). */
export const TaskSummarySchema = TaskViewSchema.omit({ result: true });

export const TaskListingSchema = z.object({
  tasks: z.array(TaskSummarySchema).meta({
    description: 'Summaries: no `result` (fetch the task for it). A page ends early rather than exceed 1 MiB.',
  }),
  nextCursor: z.string().optional().meta({ description: 'Pass as `cursor` for the next page; absent on the last.' }),
});

export const ErrorDetailSchema = z.object({ path: z.string(), message: z.string() });

/** Every error the API Lambda answers (functions/api/http.ts `errorResponse`). */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(ErrorDetailSchema).optional(),
    requestId: z.string().meta({ description: 'Quote it when reporting a problem.' }),
  }),
});

/** What API Gateway itself answers before the Lambda runs: no authorizer match, throttling, body over 10 MB. */
export const GatewayErrorSchema = z.object({ message: z.string() });

// Compile-time proof that the schemas describe what the code returns.
type Assignable<T extends U, U> = T;
export type TaskViewMatchesSchema = Assignable<TaskView, z.output<typeof TaskViewSchema>>;
export type TaskSummaryMatchesSchema = Assignable<TaskSummaryView, z.output<typeof TaskSummarySchema>>;
export type ErrorDetailMatchesSchema = Assignable<ErrorDetail, z.output<typeof ErrorDetailSchema>>;
