import { OffloadError } from './errors.js';
import type { BlobStore } from './ports.js';
import type { BlobRef, Task } from './task.js';

/**
 * Task data kept outside the task's item (the claim-check pattern): DynamoDB bills every write by the
 * size of the whole item, and a task is written several times, so a large payload or result costs
 * once as an object instead of on every write. This module holds what the API and the worker share:
 * the object key layout, the limits and the checks; the objects themselves go through {@link BlobStore}.
 *
 * Key layout, every key under the owner's keyed hash (never the owner id itself):
 *
 * - `<ownerHash>/<uploadId>/payload.json`: a payload the caller PUT through a presigned URL
 * - `<ownerHash>/<taskId>/payload-<random>.json`: a payload the API moved out of a submitted body
 * - `<ownerHash>/<taskId>/<attempt>/result.json`: a result too large for the item
 * - `<ownerHash>/<taskId>/<attempt>/artifacts/<name>`: files written with `ctx.artifacts.put`
 *
 * Results and artifacts are per attempt, so an attempt that lost its task (fencing) deletes its own
 * objects and never those of the attempt that holds the task.
 */

/** The limits of task data, from settings.taskData through the environment. */
export interface TaskDataLimits {
  /** Payloads and results whose JSON takes more bytes than this go to the bucket; the item keeps a reference. */
  readonly inlineMaxBytes: number;
  /** The largest object of the bucket: an upload, a payload, a result, an artifact. */
  readonly maxObjectBytes: number;
  /** How long a presigned upload URL is valid. */
  readonly uploadUrlSeconds: number;
  /** How long a presigned download URL (result, artifact) is valid; minted anew on each read. */
  readonly downloadUrlSeconds: number;
  /** Files one attempt may write. */
  readonly maxArtifacts: number;
}

/** What a core needs to keep data outside the item: the bucket and its limits. */
export interface TaskData {
  readonly blobs: BlobStore;
  readonly limits: TaskDataLimits;
}

/** Upload ids (and so `payloadRef`s) are random UUIDs: anything else cannot name an upload. */
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isWellFormedUploadId = (uploadId: string): boolean => UPLOAD_ID.test(uploadId);

/** The object keys of task data (see the module comment). */
export const taskDataKeys = {
  upload: (ownerHash: string, uploadId: string) => `${ownerHash}/${uploadId}/payload.json`,
  payload: (ownerHash: string, taskId: string, suffix: string) => `${ownerHash}/${taskId}/payload-${suffix}.json`,
  result: (ownerHash: string, taskId: string, attempt: number) => `${ownerHash}/${taskId}/${attempt}/result.json`,
  artifact: (ownerHash: string, taskId: string, attempt: number, name: string) =>
    `${ownerHash}/${taskId}/${attempt}/artifacts/${name}`,
} as const;

/**
 * The payload object belongs to this task alone (the API moved it out of the body), so cancelling
 * the task may delete it. An uploaded payload may back several tasks (retries, one input fanned out):
 * it is left to the bucket's expiry.
 */
export const ownsPayloadObject = (task: Pick<Task, 'taskId' | 'ownerHash' | 'payloadRef'>): boolean =>
  task.payloadRef !== undefined &&
  task.ownerHash !== undefined &&
  task.payloadRef.key.startsWith(`${task.ownerHash}/${task.taskId}/`);

/** Artifact names: a file name, no path. Letters, digits, `.`, `_`, `-`; not starting with `.`; no `..`. */
const ARTIFACT_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** Why `name` cannot name an artifact, or undefined when it can. */
export function artifactNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'an artifact name must be a non-empty string';
  if (name.includes('..')) return `artifact name ${JSON.stringify(name.slice(0, 40))} contains ".."`;
  if ([...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    return 'artifact names must not contain control characters';
  }
  if (!ARTIFACT_NAME.test(name)) {
    return `artifact name ${JSON.stringify(name.slice(0, 40))} must be 1-128 letters, digits, ".", "_" or "-", not starting with "."`;
  }
  return undefined;
}

/** `type/subtype` with optional parameters, printable, at most 255 characters. */
const CONTENT_TYPE = /^[\w.+-]+\/[\w.+-]+(\s*;[\x20-\x7e]*)?$/;

export const isValidContentType = (contentType: string): boolean =>
  contentType.length <= 255 && CONTENT_TYPE.test(contentType);

/** The object is larger than allowed; nothing was read. */
export class BlobTooLargeError extends OffloadError {
  readonly size: number;

  constructor(size: number, limitBytes: number) {
    super('BlobTooLarge', `The object has ${size} bytes; at most ${limitBytes} are allowed.`);
    this.name = 'BlobTooLargeError';
    this.size = size;
  }
}

/** The object was replaced since its ETag was recorded; nothing was read. */
export class BlobChangedError extends OffloadError {
  constructor() {
    super('BlobChanged', 'The object was replaced after it was checked.');
    this.name = 'BlobChangedError';
  }
}

/** The bytes of `value`'s JSON, as stored: UTF-8. */
export const jsonBytes = (json: string): number => Buffer.byteLength(json, 'utf8');

/** A reference to a fresh object: what the item keeps instead of the data. */
export const blobRef = (key: string, size: number, etag: string | undefined): BlobRef => ({
  key,
  size,
  ...(etag && { etag }),
});
