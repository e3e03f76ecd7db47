import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse } from '../../functions/api/http.js';
import { MAX_HEADER_BYTES } from '../../functions/api/request-limits.js';
import { type ApiDeps, handleApiRequest } from '../../functions/api/routes.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { API_ROUTES } from '../../shared/api-routes.js';
import { TaskStatus } from '../../shared/task.js';
import {
  getTaskRequest,
  httpRequestFactory,
  OTHER_OWNER,
  submitRequest,
  TEST_OWNER,
  taskFactory,
} from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

function setup(tasks = [taskFactory({ ownerId: OTHER_OWNER })]) {
  const store = new InMemoryTaskStore(tasks);
  const queue = new FakeTaskQueue();
  const deps: ApiDeps = {
    store,
    queue,
    registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
    clock: new FakeClock().now,
    log: new RecordingLog(),
    maxBodyBytes: 1024,
    retryAfterSeconds: 1,
    defaultMaxAttempts: 3,
    ttlDays: 7,
  };
  return { store, queue, deps, othersTask: tasks[0] };
}

const errorOf = (response: HttpResponse) => {
  const { requestId: _requestId, ...error } = JSON.parse(response.body).error as Record<string, unknown>;
  return error;
};

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

const anonymous = (request: HttpRequest): HttpRequest => ({ ...request, ownerId: undefined });

describe('authentication in the API core', () => {
  it.each([
    ['POST /tasks', submitRequest({ type: 'echo', payload: {} })],
    ['GET /tasks', httpRequestFactory({ routeKey: API_ROUTES.listTasks, path: '/tasks' })],
    ['GET /tasks/{taskId}', getTaskRequest(UNKNOWN_ID)],
    ['DELETE /tasks/{taskId}', getTaskRequest(UNKNOWN_ID, { routeKey: API_ROUTES.cancelTask, method: 'DELETE' })],
    ['$default', httpRequestFactory({ path: '/nowhere' })],
  ])('answers 401 on %s without a caller, before any store or queue call', async (_route, request) => {
    const { store, queue, deps } = setup();

    const response = await handleApiRequest(anonymous(request), deps);

    expect(response.statusCode).toBe(401);
    expect(errorOf(response)).toMatchObject({ code: 'Unauthorized' });
    expect(store.calls).toEqual([]);
    expect(queue.enqueued).toEqual([]);
  });

  it('answers GET /health without a caller and without a store call', async () => {
    const { store, deps } = setup();

    const response = await handleApiRequest(
      anonymous(httpRequestFactory({ routeKey: API_ROUTES.health, path: '/health' })),
      deps,
    );

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ status: 'ok' });
    expect(store.calls).toEqual([]);
  });
});

describe("another owner's task", () => {
  it.each([
    ['GET', API_ROUTES.getTask],
    ['DELETE', API_ROUTES.cancelTask],
  ])('%s answers exactly as for an unknown id', async (method, routeKey) => {
    const { deps, othersTask } = setup();
    const request = (taskId: string) => getTaskRequest(taskId, { method, routeKey, ownerId: TEST_OWNER });

    const foreign = await handleApiRequest(request(othersTask?.taskId ?? ''), deps);
    const unknown = await handleApiRequest(request(UNKNOWN_ID), deps);

    expect(foreign.statusCode).toBe(404);
    expect({ ...foreign, body: errorOf(foreign) }).toEqual({ ...unknown, body: errorOf(unknown) });
  });

  it('is read owner-scoped, so the store never hands it to the core', async () => {
    const { deps, othersTask } = setup();
    const seen: unknown[] = [];
    const get = deps.store.get.bind(deps.store);
    const spied: ApiDeps = {
      ...deps,
      store: Object.assign(Object.create(deps.store), {
        get: async (...args: Parameters<typeof get>) => {
          const task = await get(...args);
          seen.push(task);
          return task;
        },
      }),
    };

    await handleApiRequest(getTaskRequest(othersTask?.taskId ?? ''), spied);

    expect(seen).toEqual([undefined]);
  });

  it('is left as it was by a DELETE', async () => {
    const { store, deps, othersTask } = setup();
    const taskId = othersTask?.taskId ?? '';

    await handleApiRequest(getTaskRequest(taskId, { method: 'DELETE', routeKey: API_ROUTES.cancelTask }), deps);

    expect(store.peek(taskId)).toMatchObject({ status: TaskStatus.Queued });
    expect(store.peek(taskId)?.cancelRequested).toBeUndefined();
  });

  it('is not listed', async () => {
    const { deps } = setup([taskFactory({ ownerId: OTHER_OWNER }), taskFactory({ ownerId: TEST_OWNER })]);

    const response = await handleApiRequest(httpRequestFactory({ routeKey: API_ROUTES.listTasks }), deps);

    const { tasks } = JSON.parse(response.body) as { tasks: { taskId: string }[] };
    expect(tasks).toHaveLength(1);
  });
});

describe('header and query limits', () => {
  const list = (overrides: Partial<HttpRequest>) =>
    httpRequestFactory({ routeKey: API_ROUTES.listTasks, path: '/tasks', ...overrides });

  it.each([
    ['a control character in a header', { headers: { 'x-trace': 'a\nb' } }, 400, 'InvalidHeader', 'headers.x-trace'],
    ['headers over the limit', { headers: { 'x-big': 'x'.repeat(MAX_HEADER_BYTES) } }, 431, 'HeadersTooLarge', null],
    [
      'a query value over 2048 characters',
      { query: { cursor: 'x'.repeat(2049) } },
      400,
      'InvalidQuery',
      'query.cursor',
    ],
    [
      'a control character in a query value',
      { query: { status: 'QUEUED\u0000' } },
      400,
      'InvalidQuery',
      'query.status',
    ],
    ['a query name over 64 characters', { query: { ['n'.repeat(5000)]: '1' } }, 400, 'InvalidQuery', null],
  ])('answers %s with %i %s before any store call', async (_case, overrides, status, code, path) => {
    const { store, deps } = setup();

    const response = await handleApiRequest(list(overrides), deps);

    expect(response.statusCode).toBe(status);
    const error = errorOf(response) as { code: string; details?: { path: string }[] };
    expect(error.code).toBe(code);
    if (path) expect(error.details?.[0]?.path).toBe(path);
    expect(response.body.length).toBeLessThan(1024);
    expect(store.calls).toEqual([]);
  });

  it('accepts a tab inside a header value', async () => {
    const { deps } = setup();

    const response = await handleApiRequest(list({ headers: { 'user-agent': 'curl\t8' } }), deps);

    expect(response.statusCode).toBe(200);
  });
});
