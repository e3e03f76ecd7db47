import { BATCH_LIMITS } from '../shared/api-routes.js';
import {
  type ApiErrorDetail,
  OffloadApiError,
  OffloadClientError,
  TaskCancelledError,
  TaskFailedError,
  TaskWaitTimeoutError,
} from './errors.js';
import type {
  PayloadOf,
  ResultOf,
  ScheduleListing,
  ScheduleView,
  TaskListing,
  TaskPriority,
  TaskStatus,
  TaskTypeMap,
  TaskView,
} from './task-types.js';

export interface RetryOptions {
  /** Tries per request, the first included. @default 4 */
  readonly maxAttempts?: number;
  /** Base of the exponential backoff when the server sends no Retry-After. @default 250 */
  readonly baseDelayMs?: number;
  /** Cap of one backoff delay. @default 5000 */
  readonly maxDelayMs?: number;
}

export interface PollOptions {
  /** First wait when the server sends no Retry-After. @default 250 */
  readonly initialDelayMs?: number;
  /** Cap of the growing wait between polls (Retry-After may ask for longer). @default 5000 */
  readonly maxDelayMs?: number;
}

export interface OffloadClientOptions {
  /**
   * The API's base URL, e.g. the stack's `ApiUrl` output or `http://127.0.0.1:3000`. It must be https,
   * unless it names this machine (localhost, 127.x.x.x, [::1]) or `allowInsecureHttp` is set.
   */
  readonly baseUrl: string;
  /**
   * Allows plain http to a host other than this machine: the token and every payload and result would
   * cross the network readable by anyone on the path. For test networks only. @default false
   */
  readonly allowInsecureHttp?: boolean;
  /**
   * Longest wait a server's `Retry-After` can impose, on a retry or between polls: a header asking for
   * hours (a misconfigured proxy, a hostile server) cannot park the caller. @default 60000
   */
  readonly maxRetryAfterMs?: number;
  /** Bearer token, or a function that returns a fresh one for each request. */
  readonly token?: string | (() => string | Promise<string>);
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Retries of 429, 503 and network errors. */
  readonly retry?: RetryOptions;
  /** How `result()` polls. */
  readonly poll?: PollOptions;
  /** Waits between tries and polls; tests pass one that records the delays. @default a timer honouring the signal */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
  /**
   * The largest submit body sent as is (the API's settings.api.maxBodyBytes). A larger payload is
   * uploaded first, through a presigned URL from `POST /tasks/uploads`, and submitted as a `payloadRef`.
   * @default 262144 (256 KiB)
   */
  readonly maxBodyBytes?: number;
}

export interface SubmitOptions {
  /**
   * Sent as the `Idempotency-Key` header: the same key and body give back the same task.
   * @default a random UUID per `submit` call, reused by its retries
   */
  readonly idempotencyKey?: string;
  /** Delay before the task becomes runnable, 0-900 s. */
  readonly delaySeconds?: number;
  /**
   * Where offload POSTs the signed terminal event (`verifyCallback` checks it): https to a public host
   * (http and loopback too against `npm start -- --allow-local-callbacks`).
   */
  readonly callbackUrl?: string;
  /** Start no earlier than this, up to a year ahead (not with `delaySeconds`). */
  readonly runAt?: Date | string;
  /** `high`: the lane's high-priority queue, which no backlog of normal tasks delays. @default normal */
  readonly priority?: TaskPriority;
  /** Another lane than the task type's own (the deployment must have it). @default the type's lane */
  readonly lane?: string;
  readonly signal?: AbortSignal;
}

/** A schedule to create: its task is typed like `submit`'s. */
export interface ScheduleInput<Types extends TaskTypeMap, Type extends keyof Types & string> {
  /** 1-64 of A-Z a-z 0-9 . _ - ; unique among your schedules. */
  readonly name: string;
  /** `cron(minutes hours day-of-month month day-of-week year)` or `rate(value unit)`, as EventBridge Scheduler reads them. */
  readonly expression: string;
  /** IANA time zone, e.g. `Europe/Berlin`. @default UTC */
  readonly timezone?: string;
  readonly task: { readonly type: Type; readonly payload?: PayloadOf<Types, Type> };
  readonly startAt?: Date | string;
  readonly endAt?: Date | string;
  /** @default true */
  readonly enabled?: boolean;
}

/** What `schedules.update` may change; the rest stays. */
export interface ScheduleChanges {
  readonly expression?: string;
  readonly timezone?: string;
  readonly task?: { readonly type: string; readonly payload?: unknown };
  readonly enabled?: boolean;
}

/** Your recurring schedules (`client.schedules`). */
export interface ScheduleClient<Types extends TaskTypeMap> {
  create<Type extends keyof Types & string>(
    schedule: ScheduleInput<Types, Type>,
    options?: { signal?: AbortSignal },
  ): Promise<ScheduleView>;
  /** A page of your schedules, by name; `limit` 1-50 (default 20). */
  list(options?: { limit?: number; cursor?: string; signal?: AbortSignal }): Promise<ScheduleListing>;
  /** OffloadApiError 404 for an unknown or another owner's schedule. */
  get(name: string, options?: { signal?: AbortSignal }): Promise<ScheduleView>;
  update(name: string, changes: ScheduleChanges, options?: { signal?: AbortSignal }): Promise<ScheduleView>;
  delete(name: string, options?: { signal?: AbortSignal }): Promise<void>;
}

export interface ResultOptions<Result> {
  /** Give up (TaskWaitTimeoutError) after this long; the task goes on. @default no limit */
  readonly timeoutMs?: number;
  /** Stops waiting: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called with the task whenever its status, attempts or progress change. */
  readonly onProgress?: (task: TaskView<Result>) => void;
}

export interface ListOptions {
  readonly status?: TaskStatus;
  /** 1-50. @default 20 */
  readonly limit?: number;
  readonly cursor?: string;
  readonly signal?: AbortSignal;
}

/** One submission of `submitMany`: what `submit` takes, in one object. */
export type BatchSubmission<Types extends TaskTypeMap = TaskTypeMap> = {
  readonly [Type in keyof Types & string]: {
    readonly type: Type;
    readonly payload: PayloadOf<Types, Type>;
    /** The same key and body give back the same task. @default a random UUID, reused by every retry */
    readonly idempotencyKey?: string;
  } & Omit<SubmitOptions, 'idempotencyKey' | 'signal'>;
}[keyof Types & string];

/** Why the API refused one item of a batch (the others are unaffected). */
export interface BatchItemError {
  readonly code: string;
  readonly message: string;
  readonly details?: readonly ApiErrorDetail[];
}

/** What became of one submission of `submitMany`, in the order given. */
export type SubmitManyResult<Result = unknown> =
  | {
      readonly ok: true;
      readonly task: TaskHandle<Result>;
      /** An earlier submission with the same idempotency key: that task. */
      readonly replayed: boolean;
    }
  | { readonly ok: false; readonly error: BatchItemError };

/** A submitted task. */
export interface TaskHandle<Result = unknown> {
  readonly id: string;
  /** The task's current view (one GET). */
  status(options?: { signal?: AbortSignal }): Promise<TaskView<Result>>;
  /**
   * Polls until the task finishes: resolves with its result on SUCCEEDED, rejects with
   * TaskFailedError (carrying the task's error code) on FAILED and TaskCancelledError on CANCELLED.
   */
  result(options?: ResultOptions<Result>): Promise<Result>;
  /** Cancels a QUEUED task at once, asks a RUNNING one to stop; answers the task's view. */
  cancel(options?: { signal?: AbortSignal }): Promise<TaskView<Result>>;
}

/** One item's result as `POST /tasks/batch` answers it. */
type BatchResultBody =
  | { taskId: string; status: TaskStatus; location: string; replayed?: true }
  | { error: BatchItemError };

interface ApiResponse<T> {
  readonly body: T;
  readonly headers: Headers;
}

const RETRYABLE_STATUSES = new Set([429, 503]);
/** S3 answers 500 and 503 (SlowDown) now and then; a presigned request may be repeated. */
const RETRYABLE_STORAGE_STATUSES = new Set([500, 502, 503, 504]);
const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

/** `201` of `POST /tasks/uploads`. */
interface UploadTicket {
  readonly uploadUrl: string;
  readonly payloadRef: string;
  readonly expiresAt: string;
}

/**
 * Typed client of the offload HTTP API. Payload and result types come from the task module named
 * as the type parameter: with `OffloadClient<typeof taskTypes>`, `client.submit('sleep', { ms: 'x' })`
 * does not compile. Without one, any type name and payload are accepted and results are `unknown`.
 * Uses global fetch; no AWS SDK.
 *
 * ```ts
 * import type { taskTypes } from './tasks.js';
 * const client = new OffloadClient<typeof taskTypes>({ baseUrl: 'http://127.0.0.1:3000' });
 * const task = await client.submit('sleep', { ms: 500 });
 * const { sleptMs } = await task.result({ timeoutMs: 60_000 });
 * ```
 */
export class OffloadClient<Types extends TaskTypeMap = TaskTypeMap> {
  readonly #baseUrl: string;
  readonly #options: OffloadClientOptions;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;

  constructor(options: OffloadClientOptions) {
    checkBaseUrl(options.baseUrl, options.allowInsecureHttp ?? false);
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#options = options;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#sleep = options.sleep ?? abortableSleep;
    this.#random = options.random ?? Math.random;
  }

  /**
   * Submits a task. Retries on 429, 503 and network errors with one Idempotency-Key, so a retry
   * can never create a second task. A payload too large for a request body (`maxBodyBytes`) is
   * uploaded first through a presigned URL (up to the API's limit, 100 MB by default) and submitted
   * by reference.
   */
  async submit<Type extends keyof Types & string>(
    type: Type,
    payload: PayloadOf<Types, Type>,
    options: SubmitOptions = {},
  ): Promise<TaskHandle<ResultOf<Types, Type>>> {
    const fields = {
      ...(options.delaySeconds !== undefined && { delaySeconds: options.delaySeconds }),
      ...(options.callbackUrl !== undefined && { callbackUrl: options.callbackUrl }),
      ...(options.runAt !== undefined && { runAt: isoTime(options.runAt) }),
      ...(options.priority !== undefined && { priority: options.priority }),
      ...(options.lane !== undefined && { lane: options.lane }),
    };
    let body = JSON.stringify({ type, payload, ...fields });
    if (new TextEncoder().encode(body).length > (this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)) {
      const payloadRef = await this.#upload(new TextEncoder().encode(JSON.stringify(payload)), options.signal);
      body = JSON.stringify({ type, payloadRef, ...fields });
    }
    const { body: task } = await this.#request<TaskView<ResultOf<Types, Type>>>('POST', '/tasks', {
      body,
      headers: {
        'content-type': 'application/json',
        'idempotency-key': options.idempotencyKey ?? globalThis.crypto.randomUUID(),
      },
      signal: options.signal,
    });
    return this.task<ResultOf<Types, Type>>(task.taskId);
  }

  /**
   * Recurring schedules: each firing submits the schedule's task. Every call is retried like the
   * others; a `create` retried after its first try went through answers 409 `ScheduleExists`.
   */
  readonly schedules: ScheduleClient<Types> = {
    create: async (schedule, options = {}) => {
      const body = {
        ...schedule,
        ...(schedule.startAt !== undefined && { startAt: isoTime(schedule.startAt) }),
        ...(schedule.endAt !== undefined && { endAt: isoTime(schedule.endAt) }),
      };
      return (await this.#request<ScheduleView>('POST', '/schedules', jsonInit(body, options.signal))).body;
    },
    list: async (options = {}) => {
      const query = new URLSearchParams();
      if (options.limit !== undefined) query.set('limit', String(options.limit));
      if (options.cursor) query.set('cursor', options.cursor);
      const search = query.toString() ? `?${query}` : '';
      return (await this.#request<ScheduleListing>('GET', `/schedules${search}`, { signal: options.signal })).body;
    },
    get: async (name, options = {}) =>
      (await this.#request<ScheduleView>('GET', schedulePath(name), { signal: options.signal })).body,
    update: async (name, changes, options = {}) =>
      (await this.#request<ScheduleView>('PATCH', schedulePath(name), jsonInit(changes, options.signal))).body,
    delete: async (name, options = {}) => {
      await this.#request('DELETE', schedulePath(name), { signal: options.signal });
    },
  };

  /**
   * Submits many tasks in as few requests as the API allows (POST /tasks/batch, 100 a request within
   * `maxBodyBytes`; an item's payload too large to share a request is uploaded first, as `submit` does)
   * and answers one result per submission, in order. An item takes `submit`'s options (`runAt`,
   * `priority`, `lane`, `callbackUrl`, `delaySeconds`). Each item has an idempotency key (a random one unless
   * given), so a request retried on 429, 503 or a network error never creates a task twice, and items the
   * API could not take for the moment (`ServiceUnavailable`) are sent again, up to `retry.maxAttempts`.
   * A refused item does not throw: its result says why. The whole call throws only when a request is
   * refused as a whole (a bad batch, or still over the rate limit after the retries).
   */
  async submitMany<const Items extends readonly BatchSubmission<Types>[]>(
    items: Items,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<{ -readonly [I in keyof Items]: SubmitManyResult<ResultOf<Types, Items[I]['type']>> }> {
    const maxBodyBytes = this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    // Each item as sent, once: its key (reused by every retry) and, for a payload too large to share a
    // request, the reference of its upload.
    const sent: string[] = [];
    for (const { type, payload, idempotencyKey, runAt, ...fields } of items) {
      const item = {
        type,
        payload,
        ...fields,
        ...(runAt !== undefined && { runAt: isoTime(runAt) }),
        idempotencyKey: idempotencyKey ?? globalThis.crypto.randomUUID(),
      };
      let json = JSON.stringify(item);
      if (utf8Bytes(json) + BATCH_ENVELOPE_BYTES > maxBodyBytes) {
        const { payload: _inline, ...rest } = item;
        const payloadRef = await this.#upload(new TextEncoder().encode(JSON.stringify(payload)), options.signal);
        json = JSON.stringify({ ...rest, payloadRef });
      }
      sent.push(json);
    }
    const results: SubmitManyResult[] = new Array(items.length);
    let pending = sent.map((_, index) => index);
    const maxAttempts = this.#options.retry?.maxAttempts ?? 4;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const again: number[] = [];
      for (const chunk of requestsOf(pending, sent, maxBodyBytes)) {
        const { body } = await this.#request<{ results: BatchResultBody[] }>('POST', '/tasks/batch', {
          body: `{"tasks":[${chunk.map((index) => sent[index]).join(',')}]}`,
          headers: { 'content-type': 'application/json' },
          signal: options.signal,
        });
        body.results.forEach((result, offset) => {
          const index = chunk[offset] ?? 0;
          if ('taskId' in result) {
            results[index] = { ok: true, task: this.task(result.taskId), replayed: result.replayed === true };
          } else if (result.error.code === 'ServiceUnavailable' && attempt < maxAttempts) {
            again.push(index);
          } else {
            results[index] = { ok: false, error: result.error };
          }
        });
      }
      pending = again;
      if (pending.length > 0) {
        const baseDelayMs = this.#options.retry?.baseDelayMs ?? 250;
        await this.#sleep(
          backoff(attempt, baseDelayMs, this.#options.retry?.maxDelayMs ?? 5_000, this.#random),
          options.signal,
        );
      }
    }
    return results as never;
  }

  /**
   * Your tasks among `ids`, in the order asked, in as few requests as the API allows (GET /tasks?ids=,
   * 100 ids a request); an unknown id, or another owner's, is left out.
   */
  async getMany(ids: readonly string[], options: { signal?: AbortSignal } = {}): Promise<TaskView[]> {
    const tasks: TaskView[] = [];
    let pending = [...new Set(ids)];
    while (pending.length > 0) {
      const chunk = pending.slice(0, BATCH_LIMITS.ids);
      const query = new URLSearchParams({ ids: chunk.join(',') });
      const { body } = await this.#request<{ tasks: TaskView[]; nextIds?: string[] }>('GET', `/tasks?${query}`, {
        signal: options.signal,
      });
      tasks.push(...body.tasks);
      // A response that reached its size limit names what it left out: those come next.
      pending = [...(body.nextIds ?? []), ...pending.slice(chunk.length)];
    }
    return tasks;
  }

  /** A handle on a task submitted earlier, e.g. by another process. */
  task<Result = unknown>(taskId: string): TaskHandle<Result> {
    return {
      id: taskId,
      status: (options = {}) => this.get<Result>(taskId, options),
      result: (options = {}) => this.#waitForResult<Result>(taskId, options),
      cancel: async (options = {}) =>
        (await this.#request<TaskView<Result>>('DELETE', taskPath(taskId), { signal: options.signal })).body,
    };
  }

  /** One task's current view; OffloadApiError 404 for an unknown, expired or another owner's task. */
  async get<Result = unknown>(taskId: string, options: { signal?: AbortSignal } = {}): Promise<TaskView<Result>> {
    return (await this.#request<TaskView<Result>>('GET', taskPath(taskId), { signal: options.signal })).body;
  }

  /** A page of the caller's tasks, newest first. */
  async list(options: ListOptions = {}): Promise<TaskListing> {
    const query = new URLSearchParams();
    if (options.status) query.set('status', options.status);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor) query.set('cursor', options.cursor);
    const search = query.toString() ? `?${query}` : '';
    return (await this.#request<TaskListing>('GET', `/tasks${search}`, { signal: options.signal })).body;
  }

  /** Your callback signing secret (`whsec_…`), for `verifyCallback`. */
  async callbackSecret(options: { signal?: AbortSignal } = {}): Promise<string> {
    return (await this.#request<{ secret: string }>('GET', '/callbacks/secret', { signal: options.signal })).body
      .secret;
  }

  async #waitForResult<Result>(taskId: string, options: ResultOptions<Result>): Promise<Result> {
    const { signal, timeoutMs, onProgress } = options;
    const initialDelayMs = this.#options.poll?.initialDelayMs ?? 250;
    const maxDelayMs = this.#options.poll?.maxDelayMs ?? 5_000;
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
    let lastSeen = '';
    for (let poll = 0; ; poll++) {
      const { body: task, headers } = await this.#request<TaskView<Result>>('GET', taskPath(taskId), { signal });
      const seen = JSON.stringify([task.status, task.attempts, task.progress, task.cancelRequested]);
      if (seen !== lastSeen) {
        lastSeen = seen;
        onProgress?.(task);
      }
      if (task.status === 'SUCCEEDED') {
        return task.resultUrl === undefined ? (task.result as Result) : this.#download<Result>(taskId, task, signal);
      }
      if (task.status === 'FAILED') throw new TaskFailedError(task);
      if (task.status === 'CANCELLED') throw new TaskCancelledError(task);

      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) throw new TaskWaitTimeoutError(task, timeoutMs ?? 0);
      // Back off with jitter, but never sooner than the server asked; poll once more at the deadline.
      const backoffMs = Math.min(maxDelayMs, initialDelayMs * 2 ** poll);
      const jitteredMs = backoffMs / 2 + (this.#random() * backoffMs) / 2;
      await this.#sleep(Math.min(remainingMs, Math.max(this.#retryAfter(headers) ?? 0, jitteredMs)), signal);
    }
  }

  /** Reserves an upload, PUTs the payload's bytes to its presigned URL (no token: the URL is the permission); answers its payloadRef. */
  async #upload(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<string> {
    const { body: ticket } = await this.#request<UploadTicket>('POST', '/tasks/uploads', {
      body: JSON.stringify({ contentLength: bytes.length }),
      headers: { 'content-type': 'application/json' },
      signal,
    });
    const response = await this.#storage(ticket.uploadUrl, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'application/json' },
      signal,
    });
    await response.body?.cancel();
    if (!response.ok) {
      throw new OffloadClientError('UploadFailed', `The payload upload was refused: HTTP ${response.status}.`);
    }
    return ticket.payloadRef;
  }

  /**
   * A result kept outside the task's record: GETs its presigned URL (no token). A URL that expired
   * before the download started is replaced by a fresh view's.
   */
  async #download<Result>(taskId: string, task: TaskView<Result>, signal: AbortSignal | undefined): Promise<Result> {
    let url = task.resultUrl ?? '';
    for (let attempt = 1; ; attempt++) {
      const response = await this.#storage(url, { method: 'GET', signal });
      if (response.ok) return JSON.parse(await response.text()) as Result;
      await response.body?.cancel();
      if (response.status !== 403 || attempt >= 2) {
        throw new OffloadClientError('DownloadFailed', `The result download was refused: HTTP ${response.status}.`);
      }
      url = (await this.get<Result>(taskId, { signal })).resultUrl ?? '';
    }
  }

  /** A request to a presigned storage URL, retried on network errors and the storage's 5xx. */
  async #storage(url: string, init: RequestInit & { signal: AbortSignal | undefined }): Promise<Response> {
    const maxAttempts = this.#options.retry?.maxAttempts ?? 4;
    const baseDelayMs = this.#options.retry?.baseDelayMs ?? 250;
    const maxDelayMs = this.#options.retry?.maxDelayMs ?? 5_000;
    // The URL carries the permission and the data travels with it: https, as for the API.
    checkBaseUrl(url, this.#options.allowInsecureHttp ?? false);
    for (let attempt = 1; ; attempt++) {
      init.signal?.throwIfAborted();
      try {
        const response = await this.#fetch(url, init);
        if (!RETRYABLE_STORAGE_STATUSES.has(response.status) || attempt >= maxAttempts) return response;
        await response.body?.cancel();
      } catch (error) {
        if (init.signal?.aborted) throw init.signal.reason;
        if (attempt >= maxAttempts) throw networkError(new URL(url).origin, error);
      }
      await this.#sleep(backoff(attempt, baseDelayMs, maxDelayMs, this.#random), init.signal);
    }
  }

  /**
   * One API call with retries. Repeating one changes nothing it had done: GET and DELETE are idempotent,
   * POST /tasks and /tasks/batch carry Idempotency-Keys, PATCH /schedules sets the same fields again, a
   * repeated POST /tasks/uploads reserves another upload, and a repeated POST /schedules answers 409
   * ScheduleExists (the schedules client says so).
   */
  async #request<T>(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<ApiResponse<T>> {
    const maxAttempts = this.#options.retry?.maxAttempts ?? 4;
    const baseDelayMs = this.#options.retry?.baseDelayMs ?? 250;
    const maxDelayMs = this.#options.retry?.maxDelayMs ?? 5_000;
    for (let attempt = 1; ; attempt++) {
      init.signal?.throwIfAborted();
      let response: Response;
      try {
        response = await this.#fetch(`${this.#baseUrl}${path}`, {
          method,
          headers: { accept: 'application/json', ...(await this.#authHeaders()), ...init.headers },
          body: init.body,
          signal: init.signal,
        });
      } catch (error) {
        if (init.signal?.aborted) throw init.signal.reason;
        if (attempt >= maxAttempts) throw networkError(this.#baseUrl, error);
        await this.#sleep(backoff(attempt, baseDelayMs, maxDelayMs, this.#random), init.signal);
        continue;
      }
      if (response.ok) {
        const text = await response.text();
        return { body: (text ? JSON.parse(text) : {}) as T, headers: response.headers };
      }
      if (RETRYABLE_STATUSES.has(response.status) && attempt < maxAttempts) {
        await response.body?.cancel();
        const delayMs = this.#retryAfter(response.headers) ?? backoff(attempt, baseDelayMs, maxDelayMs, this.#random);
        await this.#sleep(delayMs, init.signal);
        continue;
      }
      throw await toApiError(response);
    }
  }

  /** The server's Retry-After, capped at maxRetryAfterMs. */
  #retryAfter(headers: Headers): number | undefined {
    const asked = retryAfterMs(headers);
    return asked === undefined ? undefined : Math.min(asked, this.#options.maxRetryAfterMs ?? 60_000);
  }

  async #authHeaders(): Promise<Record<string, string>> {
    const { token } = this.#options;
    const value = typeof token === 'function' ? await token() : token;
    return value ? { authorization: `Bearer ${value}` } : {};
  }
}

const taskPath = (taskId: string) => `/tasks/${encodeURIComponent(taskId)}`;

/** Names this machine: plain http to it never crosses a network. */
const isLoopbackHostname = (hostname: string): boolean =>
  hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

/** https, or http to this machine (or anywhere with allowInsecureHttp); anything else throws InsecureUrl or InvalidUrl. */
function checkBaseUrl(baseUrl: string, allowInsecureHttp: boolean): void {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new OffloadClientError('InvalidUrl', `Not a URL: ${baseUrl}`);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') throw new OffloadClientError('InvalidUrl', `The API URL must be https: ${baseUrl}`);
  if (isLoopbackHostname(url.hostname) || allowInsecureHttp) return;
  throw new OffloadClientError(
    'InsecureUrl',
    `Refusing plain http to ${url.host}: the token, payloads and results would cross the network unencrypted. ` +
      'Use https (allowInsecureHttp, or --insecure-http in the CLI, to do it anyway).',
  );
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is in its cause. */
function networkError(baseUrl: string, error: unknown): OffloadClientError {
  const reason = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
  return new OffloadClientError('NetworkError', `Could not reach ${baseUrl}: ${reason}`, { cause: error });
}

/** Exponential backoff with full jitter, capped. */
const backoff = (attempt: number, baseMs: number, capMs: number, random: () => number): number =>
  random() * Math.min(capMs, baseMs * 2 ** (attempt - 1));

/** `Retry-After` in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The API's error body, or what API Gateway answers itself (`{"message": "..."}`), as an OffloadApiError. */
async function toApiError(response: Response): Promise<OffloadApiError> {
  const text = await response.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: unknown } | undefined)?.error as
    | { code?: unknown; message?: unknown; details?: unknown; requestId?: unknown }
    | undefined;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return new OffloadApiError(response.status, {
      code: error.code,
      message: error.message,
      details: Array.isArray(error.details) ? (error.details as ApiErrorDetail[]) : undefined,
      requestId: typeof error.requestId === 'string' ? error.requestId : undefined,
    });
  }
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return new OffloadApiError(response.status, {
    code: `Http${response.status}`,
    message: typeof message === 'string' ? message : response.statusText || `HTTP ${response.status}`,
    requestId: response.headers.get('apigw-requestid') ?? undefined,
  });
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const schedulePath = (name: string) => `/schedules/${encodeURIComponent(name)}`;

const isoTime = (time: Date | string): string => (time instanceof Date ? time.toISOString() : time);

const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

/** `{"tasks":[` and `]}` around a batch's items. */
const BATCH_ENVELOPE_BYTES = 12;

/**
 * The items (by index) in requests the API takes: at most BATCH_LIMITS.tasks each, and a body within
 * `maxBodyBytes` (an item that alone is larger was uploaded by reference, so it fits).
 */
function requestsOf(pending: readonly number[], sent: readonly string[], maxBodyBytes: number): number[][] {
  const requests: number[][] = [];
  let current: number[] = [];
  let bytes = BATCH_ENVELOPE_BYTES;
  for (const index of pending) {
    const size = utf8Bytes(sent[index] ?? '') + 1;
    if (current.length > 0 && (current.length === BATCH_LIMITS.tasks || bytes + size > maxBodyBytes)) {
      requests.push(current);
      current = [];
      bytes = BATCH_ENVELOPE_BYTES;
    }
    current.push(index);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

const jsonInit = (body: unknown, signal?: AbortSignal) => ({
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
  signal,
});
