import { OffloadClientError } from './errors.js';
import type { TaskView } from './task-types.js';

export type { CallbackView } from '../shared/task.js';

/** The event offload POSTs to a task's `callbackUrl` when it ends. */
export interface CallbackEvent<Result = unknown> {
  readonly type: 'task.succeeded' | 'task.failed' | 'task.cancelled';
  /** When the task ended (its `finishedAt`). */
  readonly timestamp: string;
  /** The task view as `GET /tasks/{id}` returned it when the attempt was made. */
  readonly data: TaskView<Result>;
}

/** Why a callback was refused: `code` is `InvalidSignature`, `StaleTimestamp`, `MissingHeaders` or `InvalidBody`. */
export class CallbackVerificationError extends OffloadClientError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'CallbackVerificationError';
  }
}

export interface VerifyCallbackOptions {
  /** Largest difference between `webhook-timestamp` and now, in seconds: older is a replay. @default 300 */
  readonly toleranceSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Node's `IncomingHttpHeaders`, a fetch `Headers`, or a plain object. */
export type CallbackHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

const header = (headers: CallbackHeaders, name: string): string | undefined => {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : (value as string | undefined);
};

/**
 * Checks a callback as Standard Webhooks verifies one, and resolves with its event: one of the `v1`
 * signatures of `webhook-signature` must be the HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<raw body>`
 * under `secret` (`whsec_…`, from `GET /callbacks/secret` or `offload callbacks secret`), and the
 * timestamp within `toleranceSeconds` of now. Pass the body exactly as received, before any JSON
 * parsing. Rejects with CallbackVerificationError. Deduplicate on `webhook-id`: delivery is at least
 * once. Web Crypto only (no `node:crypto`), so it runs in Node 20+, browsers, Deno and workers alike.
 */
export async function verifyCallback<Result = unknown>(
  headers: CallbackHeaders,
  rawBody: string | Uint8Array,
  secret: string,
  options: VerifyCallbackOptions = {},
): Promise<CallbackEvent<Result>> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new CallbackVerificationError(
      'MissingHeaders',
      'webhook-id, webhook-timestamp and webhook-signature are required.',
    );
  }
  const seconds = Number(timestamp);
  const nowSeconds = (options.now ?? Date.now)() / 1000;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - seconds) > (options.toleranceSeconds ?? 300)) {
    throw new CallbackVerificationError('StaleTimestamp', 'webhook-timestamp is missing or too far from now.');
  }
  const body = typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody);
  const keyBytes = fromBase64(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret);
  if (!keyBytes) throw new CallbackVerificationError('InvalidSignature', 'The secret is not base64.');
  const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  for (const candidate of signatures.split(' ')) {
    const [version, value = ''] = candidate.split(',');
    const given = version === 'v1' ? fromBase64(value) : undefined;
    // subtle.verify compares in constant time.
    if (given && (await crypto.subtle.verify('HMAC', key, given, signed))) return parseEvent<Result>(body);
  }
  throw new CallbackVerificationError('InvalidSignature', 'No signature matches this secret.');
}

function parseEvent<Result>(body: string): CallbackEvent<Result> {
  try {
    return JSON.parse(body) as CallbackEvent<Result>;
  } catch {
    throw new CallbackVerificationError('InvalidBody', 'The body is not JSON.');
  }
}

/** Standard base64 to bytes; undefined when it is not base64. */
function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}
