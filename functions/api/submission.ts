import { ValidationError } from '../../shared/errors.js';
import type { HttpRequest } from './http.js';
import { parseJsonBody } from './http.js';
import { hasControlCharacter } from './request-limits.js';
import { SubmitBody } from './schemas.js';
import type { SubmitTaskInput } from './submit-task.js';
import { issuesToDetails } from './validation.js';

/**
 * What makes a `POST /tasks` request a task submission, in one place: a JSON body within the size
 * limit, the envelope (`SubmitBody`), and the Idempotency-Key header. The task type and its payload
 * are checked by `submitTask`, which every way of submitting (HTTP, schedules) goes through.
 */
export function parseSubmission(request: HttpRequest, ownerId: string, maxBodyBytes: number): SubmitTaskInput {
  const body = parseJsonBody(request, maxBodyBytes);
  const parsed = SubmitBody.safeParse(body);
  if (!parsed.success) {
    throw new ValidationError('InvalidRequest', 'The request body is not a valid task submission.', [
      ...issuesToDetails(parsed.error.issues),
    ]);
  }
  // Checked on the body as sent: the schema fills in a missing payload.
  if (parsed.data.payloadRef !== undefined && Object.hasOwn(body as object, 'payload')) {
    throw new ValidationError('InvalidRequest', 'Send either payload or payloadRef, not both.', [
      { path: 'payloadRef', message: 'not allowed together with payload' },
    ]);
  }
  return { ownerId, ...parsed.data, idempotencyKey: parseIdempotencyKey(request.headers['idempotency-key']) };
}

/** Printable, 1 to 255 characters: it is part of a hash, and echoed in logs. */
export const isValidIdempotencyKey = (key: string): boolean =>
  key.length >= 1 && key.length <= 255 && !hasControlCharacter(key);

function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!isValidIdempotencyKey(header)) {
    throw new ValidationError(
      'InvalidIdempotencyKey',
      'The Idempotency-Key header must be 1 to 255 characters with no control characters.',
      [{ path: 'headers.idempotency-key', message: 'must be 1-255 printable characters' }],
    );
  }
  return header;
}
