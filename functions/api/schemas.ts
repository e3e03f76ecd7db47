import { BATCH_LIMITS, LIST_PAGE_SIZE } from '../../shared/api-routes.js';
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
