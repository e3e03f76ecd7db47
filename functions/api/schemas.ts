import { BATCH_LIMITS, LIST_PAGE_SIZE } from '../../shared/api-routes.js';
import { MAX_CALLBACK_URL_LENGTH } from '../../shared/callbacks/callback-url.js';
import { TASK_PRIORITIES } from '../../shared/lanes.js';
import { checkStorableJson } from '../../shared/storable-json.js';
import { TaskStatus } from '../../shared/task.js';
import * as z from '../../shared/zod.js';

/**
 * The zod schemas of the HTTP requests. The API validates requests with them and the OpenAPI
 * document (functions/api/openapi.ts) is generated from them and from response-schemas.ts, so the
 * two cannot drift apart.
 */

/** `POST /tasks`: the envelope; the payload is checked against the task type's own schema. */
export const SubmitBody = z.strictObject({
  type: z.string().check(z.minLength(1), z.maxLength(64)),
  /** Optional for task types whose schema accepts an empty object. */
  payload: z._default(z.unknown(), {}).check(z.superRefine(checkStorableJson)),
  /** SQS allows at most 15 minutes of delivery delay. */
  delaySeconds: z.optional(z.int().check(z.minimum(0), z.maximum(900))),
  /** Where the terminal event is POSTed, signed (Standard Webhooks); https to a public host. */
  callbackUrl: z.optional(z.string().check(z.minLength(1), z.maxLength(MAX_CALLBACK_URL_LENGTH))),
  /** Start no earlier than this (ISO 8601 with an offset), up to a year ahead; not with `delaySeconds`. */
  runAt: z.optional(z.iso.datetime({ offset: true })),
  /** An upload's `payloadRef` (`POST /tasks/uploads`) holding the payload: then no `payload`. */
  payloadRef: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  /** `high`: the lane's high-priority queue, which a backlog of normal tasks never delays. */
  priority: z.optional(z.enum(TASK_PRIORITIES)),
  /** Another lane than the task type's own; it must be one the deployment has. */
  lane: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
});

/** `POST /tasks/uploads`: the exact size of the payload to upload; the limit is the deployment's (taskData.maxObjectBytes). */
export const UploadBody = z.strictObject({
  contentLength: z.int().check(z.minimum(1)),
});

/** One item of `POST /tasks/batch`: a submission, with its idempotency key in the body (there is one header for all). */
export const BatchSubmitItem = z.extend(SubmitBody, {
  idempotencyKey: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
});

/** `POST /tasks/batch`: the envelope; each item is checked on its own (a bad item fails alone). */
export const BatchSubmitBody = z.strictObject({
  tasks: z.array(z.unknown()).check(z.minLength(1), z.maxLength(BATCH_LIMITS.tasks)),
});

/** `GET /tasks?ids=`: comma-separated task ids, and nothing else (no status, limit or cursor). */
export const IdsQuery = z.strictObject({ ids: z.string().check(z.minLength(1)) });

/** `GET /tasks` query string. */
export const ListQuery = z.strictObject({
  status: z.optional(z.enum(Object.values(TaskStatus))),
  limit: z._default(
    z.coerce.number().check(z.int(), z.minimum(1), z.maximum(LIST_PAGE_SIZE.max)),
    LIST_PAGE_SIZE.default,
  ),
  cursor: z.optional(z.string().check(z.maxLength(2048))),
});
