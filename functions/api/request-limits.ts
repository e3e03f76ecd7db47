import { BATCH_LIMITS } from '../../shared/api-routes.js';
import { RequestHeadersTooLargeError, ValidationError } from '../../shared/errors.js';
import type { HttpRequest } from './http.js';

/**
 * API Gateway HTTP APIs refuse a request whose request line and headers exceed 10 KiB before any
 * Lambda runs; the handler holds the same line so that events from elsewhere (tests, a misrouted
 * integration) cannot carry more.
 */
export const MAX_HEADER_BYTES = 10 * 1024;
/** The longest query parameter value any route takes (`cursor` is at most 2048 characters), but for those below. */
export const MAX_QUERY_VALUE_LENGTH = 2048;
/** `ids`: up to BATCH_LIMITS.ids task ids (36 characters) and the commas between them. */
const LONGER_QUERY_VALUES: Readonly<Record<string, number>> = { ids: BATCH_LIMITS.ids * 37 - 1 };
export const MAX_QUERY_NAME_LENGTH = 64;

/** C0 controls and DEL; a horizontal tab is legal inside a header value (RFC 9110 §5.5). */
export function hasControlCharacter(text: string, { allowTab = false } = {}): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && !(allowTab && code === 0x09)) || code === 0x7f) return true;
  }
  return false;
}

/** Names echoed in `details` are cut short: the error must not mirror a huge input back. */
const shown = (name: string) =>
  name.length > MAX_QUERY_NAME_LENGTH ? `${name.slice(0, MAX_QUERY_NAME_LENGTH)}…` : name;

/**
 * Checks what every route receives, before routing: header size and control characters, query
 * parameter names and values. Route-specific rules (which parameters a route takes) come later.
 */
export function checkRequestLimits(request: HttpRequest): void {
  let headerBytes = 0;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headerBytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
    if (hasControlCharacter(value, { allowTab: true })) {
      throw new ValidationError('InvalidHeader', 'A header value contains control characters.', [
        { path: `headers.${shown(name)}`, message: 'must not contain control characters' },
      ]);
    }
  }
  if (headerBytes > MAX_HEADER_BYTES) throw new RequestHeadersTooLargeError(MAX_HEADER_BYTES);

  for (const [name, value] of Object.entries(request.query)) {
    const maxLength = Object.hasOwn(LONGER_QUERY_VALUES, name)
      ? (LONGER_QUERY_VALUES[name] ?? 0)
      : MAX_QUERY_VALUE_LENGTH;
    const problem =
      name.length > MAX_QUERY_NAME_LENGTH || hasControlCharacter(name)
        ? `names are at most ${MAX_QUERY_NAME_LENGTH} printable characters`
        : value !== undefined && value.length > maxLength
          ? `must be at most ${maxLength} characters`
          : value !== undefined && hasControlCharacter(value)
            ? 'must not contain control characters'
            : undefined;
    if (problem) {
      throw new ValidationError('InvalidQuery', 'The query string is not valid.', [
        { path: `query.${shown(name)}`, message: problem },
      ]);
    }
  }
}
