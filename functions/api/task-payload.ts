import { randomUUID } from 'node:crypto';
import { ValidationError } from '../../shared/errors.js';
import type { OwnerHash } from '../../shared/owner-hash.js';
import type { BlobRef } from '../../shared/task.js';
import {
  BlobTooLargeError,
  blobRef,
  isWellFormedUploadId,
  jsonBytes,
  type TaskData,
  taskDataKeys,
} from '../../shared/task-data.js';

/** What the API needs to keep payloads out of the item: the bucket and the owner's keyed hash (its key prefix). */
export interface PayloadDeps {
  /** @default none: every payload stays in its item */
  readonly taskData?: TaskData;
  /** @default none: every payload stays in its item */
  readonly ownerHash?: OwnerHash;
}

/** A submitted payload: its value, and where it is kept when not in the item. */
export interface PayloadSource {
  readonly payload: unknown;
  readonly ref?: BlobRef;
}

const refError = (message: string) =>
  new ValidationError('InvalidPayloadRef', message, [{ path: 'payloadRef', message }]);

/**
 * The payload of a submission: the body's, or the object a `payloadRef` names. A reference is looked
 * up under the caller's own key prefix only, so another owner's reference finds nothing there and is
 * answered exactly like a missing or expired upload. The object is read whole (at most
 * `maxObjectBytes`) and must be JSON; the task type's schema is checked by the caller, as for a body.
 */
export async function loadPayload(
  input: { readonly ownerId: string; readonly payload?: unknown; readonly payloadRef?: string },
  deps: PayloadDeps,
): Promise<PayloadSource> {
  if (input.payloadRef === undefined) return { payload: input.payload };
  const { taskData, ownerHash } = deps;
  if (!taskData || !ownerHash) throw refError('This deployment takes payloads in the request body only.');
  const missing = 'No uploaded payload for this payloadRef: it was never uploaded, has expired, or is not yours.';
  if (!isWellFormedUploadId(input.payloadRef)) throw refError(missing);
  const key = taskDataKeys.upload(ownerHash(input.ownerId), input.payloadRef);
  let object: Awaited<ReturnType<TaskData['blobs']['get']>>;
  try {
    object = await taskData.blobs.get(key, { maxBytes: taskData.limits.maxObjectBytes });
  } catch (error) {
    if (error instanceof BlobTooLargeError) {
      throw refError(
        `The uploaded payload has ${error.size} bytes; at most ${taskData.limits.maxObjectBytes} are taken.`,
      );
    }
    throw error;
  }
  if (!object) throw refError(missing);
  let payload: unknown;
  try {
    payload = JSON.parse(object.body.toString('utf8'));
  } catch {
    throw new ValidationError('InvalidPayload', 'The uploaded payload is not valid JSON.', [
      { path: 'payloadRef', message: 'the object must hold one JSON value (UTF-8)' },
    ]);
  }
  return { payload, ref: blobRef(key, object.size, object.etag) };
}

/**
 * Moves a payload larger than `inlineMaxBytes` out of the item into the bucket, under a key of this
 * task's own (`<ownerHash>/<taskId>/payload-<random>.json`: a replay of the same Idempotency-Key with
 * another body cannot overwrite the first task's payload). Undefined when it stays inline.
 */
export async function storeLargePayload(
  source: PayloadSource,
  ownerId: string,
  taskId: string,
  deps: PayloadDeps,
): Promise<BlobRef | undefined> {
  if (source.ref) return source.ref;
  const { taskData, ownerHash } = deps;
  if (!taskData || !ownerHash) return undefined;
  const json = JSON.stringify(source.payload ?? null);
  const size = jsonBytes(json);
  if (size <= taskData.limits.inlineMaxBytes) return undefined;
  const key = taskDataKeys.payload(ownerHash(ownerId), taskId, randomUUID().slice(0, 8));
  const { etag } = await taskData.blobs.put(key, Buffer.from(json, 'utf8'), 'application/json');
  return blobRef(key, size, etag);
}
