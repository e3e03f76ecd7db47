import {
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  RequestHeadersTooLargeError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../shared/errors.js';
import type { Log } from '../../shared/ports.js';

/** An HTTP request as the API core sees it: already routed, headers lower-cased. */
export interface HttpRequest {
  readonly routeKey: string;
  readonly method: string;
  readonly path: string;
  readonly pathParameters: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Raw body bytes, undefined when there is none. */
  readonly body?: Buffer;
  readonly requestId: string;
  /**
   * The verified caller; every task belongs to exactly one owner. Undefined when no authorizer ran, or
   * when the caller it verified cannot own tasks: only public routes may be served then (see caller.ts).
   */
  readonly ownerId?: string;
  /**
   * What came before `path` in the request: the stage on a named stage (`/prod`), else none. The paths the
   * API hands out (`Location`) start with it, so that a client can follow them.
   */
  readonly basePath?: string;
  /** An authorizer verified the caller (its context is there), whether or not an owner came of it. */
  readonly authenticated?: boolean;
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** Parses a JSON request body, enforcing content type and size before touching the bytes. */
export function parseJsonBody(request: HttpRequest, maxBytes: number): unknown {
  const contentType = request.headers['content-type'] ?? '';
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json' && !mediaType?.endsWith('+json')) throw new UnsupportedMediaTypeError();
  if (!request.body || request.body.length === 0) {
    throw new ValidationError('InvalidJson', 'The request body is empty; send a JSON object.');
  }
  if (request.body.length > maxBytes) throw new PayloadTooLargeError(maxBytes);
  try {
    return JSON.parse(request.body.toString('utf8'));
  } catch {
    throw new ValidationError('InvalidJson', 'The request body is not valid JSON.');
  }
}

/**
 * The one place where errors become HTTP statuses. Only OffloadErrors reach the caller with their
 * own message; anything else is logged and answered with a generic 500 carrying the request id.
 */
export function errorResponse(error: unknown, requestId: string, log: Log, retryAfterSeconds: number): HttpResponse {
  const body = (code: string, message: string, details?: unknown) => ({
    error: { code, message, ...(details !== undefined && { details }), requestId },
  });
  if (error instanceof ValidationError) {
    return jsonResponse(400, body(error.code, error.message, error.details.length ? error.details : undefined));
  }
  if (error instanceof UnauthorizedError) {
    return jsonResponse(401, body(error.code, error.message), { 'www-authenticate': 'Bearer' });
  }
  if (error instanceof ForbiddenError) return jsonResponse(403, body(error.code, error.message));
  if (error instanceof NotFoundError) return jsonResponse(404, body(error.code, error.message));
  if (error instanceof MethodNotAllowedError) {
    return jsonResponse(405, body(error.code, error.message), { allow: error.allow.join(', ') });
  }
  if (error instanceof ConflictError) return jsonResponse(409, body(error.code, error.message));
  if (error instanceof PayloadTooLargeError) return jsonResponse(413, body(error.code, error.message));
  if (error instanceof UnsupportedMediaTypeError) return jsonResponse(415, body(error.code, error.message));
  if (error instanceof RequestHeadersTooLargeError) return jsonResponse(431, body(error.code, error.message));
  if (error instanceof RateLimitedError) {
    return jsonResponse(429, body(error.code, error.message), { 'retry-after': String(error.retryAfterSeconds) });
  }
  if (error instanceof DependencyUnavailableError) {
    log.warn('dependency unavailable', { requestId, error });
    return jsonResponse(503, body(error.code, error.message), { 'retry-after': String(retryAfterSeconds) });
  }
  log.error('unhandled error', { requestId, error });
  return jsonResponse(
    500,
    body('InternalError', 'Something went wrong on our side. Quote the requestId when reporting it.'),
  );
}
