import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';

export const apiUrl = inject('apiUrl');
/** The suite's caller: minted by the global setup for the local stack, API_TOKEN for a deployed one. */
const apiToken = inject('apiToken');

/** The owner id the API derives from the suite's token (`jwt:` + its `sub`), as listing cursors carry it. */
export function callerOwnerId(): string {
  const payload = apiToken.split('.')[1] ?? '';
  return `jwt:${(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: string }).sub}`;
}

export interface ApiResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

const authHeaders = (token: string | null): Record<string, string> =>
  token ? { authorization: `Bearer ${token}` } : {};

/** Calls the API as the suite's caller, or with `token` (null: no Authorization header at all). */
export async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  init: { body?: string | Buffer; headers?: Record<string, string>; token?: string | null } = {},
): Promise<ApiResponse<T>> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { ...authHeaders(init.token === undefined ? apiToken : init.token), ...init.headers },
    body: init.body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as T };
}

export interface TaskBody {
  taskId: string;
  type: string;
  status: string;
  lane: string;
  priority: string;
  attempts: number;
  result?: unknown;
  error?: { code: string; message: string };
  lastError?: { code: string; message: string };
  progress?: { percent: number; message?: string };
  finishedAt?: string;
}

export const submit = (body: unknown) =>
  call<TaskBody>('POST', '/tasks', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/**
 * The caller's newest tasks over several pages of the largest size (other tests submit concurrently, so
 * a test's own tasks may not all be on the first page); `query` is added to each page's query string.
 */
export async function listNewest(query = '', { pages = 4, token }: { pages?: number; token?: string | null } = {}) {
  const tasks: TaskBody[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < pages; page++) {
    const path = `/tasks?limit=50${query}${cursor ? `&cursor=${cursor}` : ''}`;
    const response = await call<{ tasks: TaskBody[]; nextCursor?: string }>('GET', path, { token });
    if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
    tasks.push(...response.body.tasks);
    cursor = response.body.nextCursor;
    if (!cursor) break;
  }
  return tasks;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Polls GET /tasks/{id} until the task is terminal (or `until` holds); fails after `timeoutMs`. */
export async function waitForTask(
  taskId: string,
  { timeoutMs = 20_000, until = (t: TaskBody) => TERMINAL.has(t.status) } = {},
): Promise<TaskBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await call<TaskBody>('GET', `/tasks/${taskId}`);
    if (status !== 200) throw new Error(`GET /tasks/${taskId} answered ${status}: ${JSON.stringify(body)}`);
    if (until(body)) return body;
    if (Date.now() > deadline) throw new Error(`Task ${taskId} still ${body.status} after ${timeoutMs} ms`);
    await sleep(50);
  }
}
