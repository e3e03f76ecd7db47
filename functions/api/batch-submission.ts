import { BATCH_LIMITS } from '../../shared/api-routes.js';
import { ValidationError } from '../../shared/errors.js';
import * as z from '../../shared/zod.js';
import { type HttpRequest, parseJsonBody } from './http.js';
import { BatchSubmitBody, BatchSubmitItem } from './schemas.js';
import { isValidIdempotencyKey } from './submission.js';
import type { SubmitTaskInput } from './submit-task.js';
import { issuesToDetails } from './validation.js';

/** One item of a batch as parsed: a submission to make, or why the item is not one (its own result). */
export type BatchItem = SubmitTaskInput | ValidationError;

/**
 * What makes a `POST /tasks/batch` request a batch: a JSON body within the usual size limit (for the
 * whole batch), `{"tasks": [...]}` with 1 to BATCH_LIMITS.tasks items, and no two items with the same
 * idempotency key; all or nothing, a 400 naming the problem. Each item is then checked on its own: a
 * bad item becomes that item's error and the others go on.
 */
export function parseBatchSubmission(request: HttpRequest, ownerId: string, maxBodyBytes: number): BatchItem[] {
  if (request.headers['idempotency-key'] !== undefined) {
    throw new ValidationError(
      'InvalidRequest',
      'A batch takes no Idempotency-Key header: give each item its own idempotencyKey.',
      [{ path: 'headers.idempotency-key', message: 'use tasks[i].idempotencyKey' }],
    );
  }
  const envelope = z.safeParse(BatchSubmitBody, parseJsonBody(request, maxBodyBytes));
  if (!envelope.success) {
    throw new ValidationError(
      'InvalidRequest',
      `The request body is not a batch: {"tasks": [...]} with 1 to ${BATCH_LIMITS.tasks} submissions.`,
      issuesToDetails(envelope.error.issues),
    );
  }
  const items = envelope.data.tasks;
  refuseRepeatedKeys(items);
  return items.map((item) => parseItem(item, ownerId));
}

function parseItem(item: unknown, ownerId: string): BatchItem {
  const parsed = z.safeParse(BatchSubmitItem, item);
  if (!parsed.success) {
    return new ValidationError(
      'InvalidRequest',
      'The item is not a valid task submission.',
      issuesToDetails(parsed.error.issues),
    );
  }
  const { idempotencyKey, ...submission } = parsed.data;
  // Checked on the item as sent: the schema fills in a missing payload.
  if (submission.payloadRef !== undefined && Object.hasOwn(item as object, 'payload')) {
    return new ValidationError('InvalidRequest', 'Send either payload or payloadRef, not both.', [
      { path: 'payloadRef', message: 'not allowed together with payload' },
    ]);
  }
  if (idempotencyKey !== undefined && !isValidIdempotencyKey(idempotencyKey)) {
    return new ValidationError(
      'InvalidIdempotencyKey',
      'The idempotencyKey must be 1 to 255 characters with no control characters.',
      [{ path: 'idempotencyKey', message: 'must be 1-255 printable characters' }],
    );
  }
  return { ownerId, ...submission, ...(idempotencyKey !== undefined && { idempotencyKey }) };
}

/**
 * Two items with one key would be one task (its id comes from owner and key): the second would come back
 * as a replay of the first, or as a conflict, depending on which write landed first. Refused instead.
 */
function refuseRepeatedKeys(items: readonly unknown[]): void {
  const firstAt = new Map<string, number>();
  const details: Array<{ path: string; message: string }> = [];
  items.forEach((item, index) => {
    const key = (item as { idempotencyKey?: unknown } | null)?.idempotencyKey;
    if (typeof key !== 'string') return;
    const first = firstAt.get(key);
    if (first === undefined) firstAt.set(key, index);
    else details.push({ path: `tasks[${index}].idempotencyKey`, message: `repeats the key of tasks[${first}]` });
  });
  if (details.length > 0) {
    throw new ValidationError(
      'DuplicateIdempotencyKey',
      'Two items of the batch have the same idempotencyKey; each item needs a key of its own.',
      details,
    );
  }
}
