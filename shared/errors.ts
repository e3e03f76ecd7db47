/**
 * Every error the offload code raises on purpose derives from OffloadError. `code` is stable and
 * shown to API callers; `message` is written for people; `cause` keeps the underlying error for logs.
 */
export class OffloadError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OffloadError';
    this.code = code;
  }
}

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

export class ValidationError extends OffloadError {
  readonly details: readonly ErrorDetail[];

  constructor(code: string, message: string, details: readonly ErrorDetail[] = []) {
    super(code, message);
    this.name = 'ValidationError';
    this.details = details;
  }
}

export class NotFoundError extends OffloadError {
  constructor(message = 'No such task.') {
    super('NotFound', message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends OffloadError {
  constructor(message: string, code = 'Conflict') {
    super(code, message);
    this.name = 'ConflictError';
  }
}

export class PayloadTooLargeError extends OffloadError {
  constructor(limitBytes: number) {
    super('PayloadTooLarge', `The request body is larger than ${limitBytes} bytes.`);
    this.name = 'PayloadTooLargeError';
  }
}

export class UnsupportedMediaTypeError extends OffloadError {
  constructor() {
    super('UnsupportedMediaType', 'The request body must be JSON (content-type: application/json).');
    this.name = 'UnsupportedMediaTypeError';
  }
}

export class MethodNotAllowedError extends OffloadError {
  readonly allow: readonly string[];

  constructor(allow: readonly string[]) {
    super('MethodNotAllowed', `Allowed methods: ${allow.join(', ')}.`);
    this.name = 'MethodNotAllowedError';
    this.allow = allow;
  }
}

/** The table or the queue could not be reached; the caller may retry. */
export class DependencyUnavailableError extends OffloadError {
  constructor(dependency: string, options?: { cause?: unknown }) {
    super('ServiceUnavailable', `The ${dependency} is unavailable; retry later.`, options);
    this.name = 'DependencyUnavailableError';
  }
}

/** DynamoDB refused a write because the item would exceed its 400 KB limit: retrying cannot help. */
export class ItemTooLargeError extends OffloadError {
  constructor(options?: { cause?: unknown }) {
    super('ItemTooLarge', "The task item would exceed the table's 400 KB item limit.", options);
    this.name = 'ItemTooLargeError';
  }
}

/** Missing or malformed configuration: a deployment fault, never the caller's. */
export class ConfigError extends OffloadError {
  constructor(message: string) {
    super('ConfigError', message);
    this.name = 'ConfigError';
  }
}

/** Marks a PermanentError whichever copy of this module made it (see {@link isPermanentError}). */
const PERMANENT = Symbol.for('offload.PermanentError');

/**
 * Thrown by a task handler to fail its task at once, without retry: the input can never succeed.
 * Any other error a handler throws is retried until the task's attempts run out.
 */
export class PermanentError extends OffloadError {
  readonly [PERMANENT] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PermanentError';
  }
}

/**
 * Whether `error` is a PermanentError. Not `instanceof` alone: a task module may reach this class
 * through another copy of the module (the installed package next to a bundled one, or a loader of
 * its own under `offload dev`), and a permanent failure must never be retried for that.
 */
export function isPermanentError(error: unknown): error is PermanentError {
  return (
    error instanceof PermanentError ||
    (typeof error === 'object' && error !== null && (error as { [PERMANENT]?: unknown })[PERMANENT] === true)
  );
}

/**
 * API Gateway verified the caller (a JWT, SigV4), but it is of a kind no owner can be given to safely
 * (a federated user, a token without `sub`…): authenticated, not allowed, so not a challenge to retry.
 */
export class ForbiddenError extends OffloadError {
  constructor(message: string) {
    super('Forbidden', message);
    this.name = 'ForbiddenError';
  }
}

/** No verified caller reached a route that needs one: the authorizer is missing or was bypassed. */
export class UnauthorizedError extends OffloadError {
  constructor(message = 'Authentication required: send a valid bearer token.') {
    super('Unauthorized', message);
    this.name = 'UnauthorizedError';
  }
}

export class RequestHeadersTooLargeError extends OffloadError {
  constructor(limitBytes: number) {
    super('HeadersTooLarge', `The request headers are larger than ${limitBytes} bytes.`);
    this.name = 'RequestHeadersTooLargeError';
  }
}

/** The owner submitted more tasks than its rate limit allows in this window; nothing was recorded. */
export class RateLimitedError extends OffloadError {
  /** Seconds until the window ends and submits are accepted again. */
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super('RateLimited', message);
    this.name = 'RateLimitedError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
