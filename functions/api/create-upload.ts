import { randomUUID } from 'node:crypto';
import { ConfigError, ValidationError } from '../../shared/errors.js';
import type { Clock } from '../../shared/ports.js';
import { taskDataKeys } from '../../shared/task-data.js';
import type { PayloadDeps } from './task-payload.js';

/** `201` of `POST /tasks/uploads`: where to PUT the payload, and what to submit instead of it. */
export interface UploadTicket {
  /** A presigned PUT URL for exactly `contentLength` bytes. */
  readonly uploadUrl: string;
  /** Submit `{"type", "payloadRef"}` once the payload is uploaded. */
  readonly payloadRef: string;
  /** When `uploadUrl` stops working (an upload must start before). */
  readonly expiresAt: string;
}

export interface CreateUploadDeps extends PayloadDeps {
  readonly clock: Clock;
  /** @default crypto.randomUUID */
  readonly newUploadId?: () => string;
}

/**
 * Reserves a place for a payload too large for a request body: a random upload id under the caller's
 * own key prefix, and a presigned PUT URL for exactly `contentLength` bytes (S3 refuses any other size),
 * valid for `uploadUrlSeconds`. Nothing is recorded: an upload never submitted expires with the bucket's
 * lifecycle rule.
 */
export async function createUpload(
  input: { readonly ownerId: string; readonly contentLength: number },
  deps: CreateUploadDeps,
): Promise<UploadTicket> {
  const { taskData, ownerHash } = deps;
  if (!taskData || !ownerHash) throw new ConfigError('Uploads need the task data bucket and the deployment key.');
  const { maxObjectBytes, uploadUrlSeconds } = taskData.limits;
  if (input.contentLength > maxObjectBytes) {
    const message = `must be at most ${maxObjectBytes} bytes`;
    throw new ValidationError('UploadTooLarge', `A payload takes at most ${maxObjectBytes} bytes.`, [
      { path: 'contentLength', message },
    ]);
  }
  const uploadId = (deps.newUploadId ?? randomUUID)();
  const now = deps.clock();
  const uploadUrl = await taskData.blobs.presignPut(taskDataKeys.upload(ownerHash(input.ownerId), uploadId), {
    contentLength: input.contentLength,
    expiresInSeconds: uploadUrlSeconds,
  });
  return {
    uploadUrl,
    payloadRef: uploadId,
    expiresAt: new Date(now.getTime() + uploadUrlSeconds * 1000).toISOString(),
  };
}
