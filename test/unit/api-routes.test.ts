import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../functions/api/http.js';
import { type ApiDeps, handleApiRequest } from '../../functions/api/routes.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { DependencyUnavailableError } from '../../shared/errors.js';
import { type Task, type TaskStatus, toTaskView } from '../../shared/task.js';
import { getTaskRequest, httpRequestFactory, OTHER_OWNER, submitRequest, taskFactory } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const MAX_BODY_BYTES = 1024;
const RETRY_AFTER_SECONDS = 2;

function setup(tasks: readonly Task[] = []) {
  const store = new InMemoryTaskStore(tasks);
  const queue = new FakeTaskQueue();
  const clock = new FakeClock();
  const log = new RecordingLog();
  const deps: ApiDeps = {
    store,
    queue,
    registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
    clock: clock.now,
    log,
    maxBodyBytes: MAX_BODY_BYTES,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
    defaultMaxAttempts: 3,
    ttlDays: 7,
  };
  return { store, queue, clock, log, deps };
}

const json = (response: HttpResponse): Record<string, unknown> => JSON.parse(response.body);
const errorOf = (response: HttpResponse) =>
  json(response).error as { code: string; message: string; requestId: string; details?: unknown[] };

describe('POST /tasks', () => {
  it('answers 202 with the task view, its Location and Retry-After', async () => {
    const { store, queue, deps } = setup();

    const response = await handleApiRequest(submitRequest({ type: 'echo', payload: { hi: 1 } }), deps);

    expect(response.statusCode).toBe(202);
    const body = json(response);
    const taskId = String(body.taskId);
    expect(response.headers).toEqual({
      'content-type': 'application/json',
      'cache-control': 'no-store',
      location: `/tasks/${taskId}`,
      'retry-after': String(RETRY_AFTER_SECONDS),
    });
    const stored = store.peek(taskId);
    expect(stored).toBeDefined();
    expect(body).toEqual(toTaskView(stored as Task));
    expect(body).toMatchObject({ type: 'echo', status: 'QUEUED', attempts: 0, maxAttempts: 3 });
    expect(queue.enqueued.map((call) => call.message)).toEqual([
      { taskId, type: 'echo', lane: 'default', priority: 'normal' },
    ]);
  });

  it('records the task for the caller, without showing the owner or payload', async () => {
    const { store, deps } = setup();

    const response = await handleApiRequest(
      submitRequest({ type: 'echo', payload: { secret: 's3' } }, { ownerId: 'jwt:carol' }),
      deps,
    );

    const body = json(response);
    expect(store.peek(String(body.taskId))).toMatchObject({ ownerId: 'jwt:carol', payload: { secret: 's3' } });
    expect(body).not.toHaveProperty('ownerId');
    expect(body).not.toHaveProperty('payload');
  });

  it('defaults a missing payload to an empty object', async () => {
    const { store, deps } = setup();

    const response = await handleApiRequest(submitRequest({ type: 'echo' }), deps);

    expect(response.statusCode).toBe(202);
    expect(store.peek(String(json(response).taskId))?.payload).toEqual({});
  });

  it.each([0, 900])('passes delaySeconds %i to the queue', async (delaySeconds) => {
    const { queue, deps } = setup();

    const response = await handleApiRequest(submitRequest({ type: 'echo', payload: {}, delaySeconds }), deps);

    expect(response.statusCode).toBe(202);
    expect(queue.enqueued[0]?.options?.delaySeconds ?? 0).toBe(delaySeconds);
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/vnd.offload+json'])(
    'accepts content-type %s',
    async (contentType) => {
      const { deps } = setup();

      const response = await handleApiRequest(
        submitRequest({ type: 'echo', payload: {} }, { headers: { 'content-type': contentType } }),
        deps,
      );

      expect(response.statusCode).toBe(202);
    },
  );

  it.each([
    { case: 'no content-type', headers: {} },
    { case: 'text/plain', headers: { 'content-type': 'text/plain' } },
    { case: 'a form', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    { case: 'a near miss', headers: { 'content-type': 'application/jsonx' } },
  ])('answers 415 to $case, before reading the body', async ({ headers }) => {
    const { store, queue, deps } = setup();

    const response = await handleApiRequest(submitRequest('not even json', { headers }), deps);

    expect(response.statusCode).toBe(415);
    expect(errorOf(response).code).toBe('UnsupportedMediaType');
    expect(store.calls).toEqual([]);
    expect(queue.enqueued).toEqual([]);
  });

  it.each([
    { case: 'no body', body: undefined, code: 'InvalidJson', paths: undefined },
    { case: 'an empty body', body: Buffer.alloc(0), code: 'InvalidJson', paths: undefined },
    { case: 'invalid JSON', body: Buffer.from('{"type":'), code: 'InvalidJson', paths: undefined },
    { case: 'a JSON array', body: Buffer.from('[]'), code: 'InvalidRequest', paths: ['(root)'] },
    { case: 'a missing type', body: Buffer.from('{"payload":{}}'), code: 'InvalidRequest', paths: ['type'] },
    { case: 'an empty type', body: Buffer.from('{"type":""}'), code: 'InvalidRequest', paths: ['type'] },
    {
      case: 'an extra field',
      body: Buffer.from('{"type":"echo","colour":1}'),
      code: 'InvalidRequest',
      paths: ['(root)'],
    },
    {
      case: 'an unknown priority',
      body: Buffer.from('{"type":"echo","priority":"urgent"}'),
      code: 'InvalidRequest',
      paths: ['priority'],
    },
    {
      case: 'a lane the deployment does not have',
      body: Buffer.from('{"type":"echo","lane":"gpu"}'),
      code: 'UnknownLane',
      paths: ['lane'],
    },
    {
      case: 'a negative delay',
      body: Buffer.from('{"type":"echo","delaySeconds":-1}'),
      code: 'InvalidRequest',
      paths: ['delaySeconds'],
    },
    {
      case: 'a delay over 900 s',
      body: Buffer.from('{"type":"echo","delaySeconds":901}'),
      code: 'InvalidRequest',
      paths: ['delaySeconds'],
    },
    {
      case: 'a fractional delay',
      body: Buffer.from('{"type":"echo","delaySeconds":1.5}'),
      code: 'InvalidRequest',
      paths: ['delaySeconds'],
    },
    {
      case: 'a delay as a string',
      body: Buffer.from('{"type":"echo","delaySeconds":"10"}'),
      code: 'InvalidRequest',
      paths: ['delaySeconds'],
    },
    { case: 'an unknown type', body: Buffer.from('{"type":"nope"}'), code: 'UnknownTaskType', paths: ['type'] },
    {
      case: 'a payload that does not fit',
      body: Buffer.from('{"type":"sleep","payload":{"ms":"x"}}'),
      code: 'InvalidPayload',
      paths: ['payload.ms'],
    },
  ])('answers 400 $code to $case, writing nothing', async ({ body, code, paths }) => {
    const { store, queue, deps } = setup();
    const request = submitRequest('', { body, requestId: 'req-400' });

    const response = await handleApiRequest(request, deps);

    expect(response.statusCode).toBe(400);
    const error = errorOf(response);
    expect(error).toMatchObject({ code, requestId: 'req-400' });
    expect(error.details?.map((detail) => (detail as { path: string }).path)).toEqual(paths);
    expect(store.calls).toEqual([]);
    expect(queue.enqueued).toEqual([]);
  });

  it('answers 413 to a body one byte over the limit, and accepts one at the limit', async () => {
    const { deps } = setup();
    const bodyOfSize = (bytes: number) => {
      const skeleton = JSON.stringify({ type: 'echo', payload: '' });
      return JSON.stringify({ type: 'echo', payload: 'x'.repeat(bytes - skeleton.length) });
    };

    const tooLarge = await handleApiRequest(submitRequest(bodyOfSize(MAX_BODY_BYTES + 1)), deps);
    const atLimit = await handleApiRequest(submitRequest(bodyOfSize(MAX_BODY_BYTES)), deps);

    expect(tooLarge.statusCode).toBe(413);
    expect(errorOf(tooLarge).code).toBe('PayloadTooLarge');
    expect(atLimit.statusCode).toBe(202);
  });

  it('counts the limit in bytes, not characters', async () => {
    const { deps } = setup();
    // 400 three-byte characters: 1,200 bytes but only ~430 characters of JSON.
    const body = JSON.stringify({ type: 'echo', payload: '€'.repeat(400) });

    const response = await handleApiRequest(submitRequest(body), deps);

    expect(response.statusCode).toBe(413);
  });

  it.each([
    { failing: 'create' as const, from: 'store' },
    { failing: 'enqueue' as const, from: 'queue' },
  ])('answers 503 with Retry-After when the $from is unavailable, and keeps no record', async ({ failing }) => {
    const { store, queue, deps } = setup();
    const sdkError = Object.assign(new Error('SDK detail: connect ECONNREFUSED 10.0.0.1:443'), { $fault: 'server' });
    const unavailable = new DependencyUnavailableError(failing === 'create' ? 'task table' : 'task queue', {
      cause: sdkError,
    });
    if (failing === 'create') store.failNext('create', unavailable);
    else queue.failNext('enqueue', unavailable);

    const response = await handleApiRequest(submitRequest({ type: 'echo', payload: {} }), deps);

    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    expect(errorOf(response).code).toBe('ServiceUnavailable');
    expect(response.body).not.toContain('ECONNREFUSED');
    expect(store.size).toBe(0);
  });
});

describe('GET /tasks/{taskId}', () => {
  it('answers 200 with the view of the caller\u2019s task', async () => {
    const task = taskFactory({ status: 'RUNNING', attempt: 1, startedAt: '2026-11-02T10:00:01.000Z' });
    const { deps } = setup([task]);

    const response = await handleApiRequest(getTaskRequest(task.taskId), deps);

    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual(toTaskView(task));
    expect(response.headers['content-type']).toBe('application/json');
  });

  it.each<TaskStatus>(['QUEUED', 'RUNNING'])('tells the caller when to poll a %s task again', async (status) => {
    const task = taskFactory({ status });
    const { deps } = setup([task]);

    const response = await handleApiRequest(getTaskRequest(task.taskId), deps);

    expect(response.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
  });

  it.each<TaskStatus>(['SUCCEEDED', 'FAILED', 'CANCELLED'])('sends no Retry-After for a %s task', async (status) => {
    const task = taskFactory({ status, finishedAt: '2026-11-02T10:00:02.000Z' });
    const { deps } = setup([task]);

    const response = await handleApiRequest(getTaskRequest(task.taskId), deps);

    expect(response.statusCode).toBe(200);
    expect(response.headers).not.toHaveProperty('retry-after');
  });

  it('answers 404 for another owner\u2019s task exactly as for an unknown id', async () => {
    const task = taskFactory({ ownerId: OTHER_OWNER });
    const { deps } = setup([task]);

    const othersTask = await handleApiRequest(getTaskRequest(task.taskId, { requestId: 'req-1' }), deps);
    const unknown = await handleApiRequest(
      getTaskRequest('00000000-0000-4000-8000-000000000000', { requestId: 'req-1' }),
      deps,
    );

    expect(othersTask.statusCode).toBe(404);
    expect(othersTask).toEqual(unknown);
    expect(errorOf(othersTask)).toEqual({ code: 'NotFound', message: 'No such task.', requestId: 'req-1' });
  });

  it.each([
    'not-a-uuid',
    '',
    '../../etc/passwd',
    'F47AC10B-58CC-4372-A567-0E02B2C3D479',
    'f47ac10b-58cc-4372-a567-0e02b2c3d479 ',
  ])('answers 404 to the malformed id %j without reading the store', async (taskId) => {
    const { store, deps } = setup();

    const response = await handleApiRequest(getTaskRequest(taskId), deps);

    expect(response.statusCode).toBe(404);
    expect(errorOf(response).code).toBe('NotFound');
    expect(store.calls).toEqual([]);
  });

  it('answers 404 when the path parameter is missing', async () => {
    const { store, deps } = setup();

    const response = await handleApiRequest(getTaskRequest('x', { pathParameters: {} }), deps);

    expect(response.statusCode).toBe(404);
    expect(store.calls).toEqual([]);
  });

  it.each([
    { case: 'a second ago', offsetSeconds: -1, status: 404 },
    { case: 'right now', offsetSeconds: 0, status: 404 },
    { case: 'in a second', offsetSeconds: 1, status: 200 },
  ])('answers $status for a task that expires $case', async ({ offsetSeconds, status }) => {
    // On a whole second, so that "right now" is exactly the expiry instant.
    const clock = new FakeClock(new Date('2026-11-02T10:00:00.000Z'));
    const task = taskFactory({ status: 'SUCCEEDED', expiresAt: clock.epochSeconds + offsetSeconds });
    const { deps } = setup([task]);

    const response = await handleApiRequest(getTaskRequest(task.taskId), { ...deps, clock: clock.now });

    expect(response.statusCode).toBe(status);
  });

  it('answers 503 with Retry-After and no SDK message when the store is unavailable', async () => {
    const task = taskFactory();
    const { store, log, deps } = setup([task]);
    const sdkError = Object.assign(new Error('ProvisionedThroughputExceededException: table tasks-prod'), {
      name: 'ProvisionedThroughputExceededException',
    });
    store.failNext('get', new DependencyUnavailableError('task table', { cause: sdkError }));

    const response = await handleApiRequest(getTaskRequest(task.taskId, { requestId: 'req-503' }), deps);

    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    expect(errorOf(response)).toEqual({
      code: 'ServiceUnavailable',
      message: 'The task table is unavailable; retry later.',
      requestId: 'req-503',
    });
    expect(response.body).not.toMatch(/Provisioned|tasks-prod/);
    expect(log.at('warn').map((entry) => entry.data.requestId)).toEqual(['req-503']);
  });

  it('answers 500 with a generic message and the request id, never the error itself', async () => {
    const task = taskFactory();
    const { store, log, deps } = setup([task]);
    const bug = new TypeError('Cannot read properties of undefined (reading "hunter2")');
    store.failNext('get', bug);

    const response = await handleApiRequest(getTaskRequest(task.taskId, { requestId: 'req-500' }), deps);

    expect(response.statusCode).toBe(500);
    expect(errorOf(response)).toEqual({
      code: 'InternalError',
      message: 'Something went wrong on our side. Quote the requestId when reporting it.',
      requestId: 'req-500',
    });
    expect(response.body).not.toContain('hunter2');
    expect(response.body).not.toContain('TypeError');
    expect(response.body).not.toContain(' at ');
    expect(response.headers).not.toHaveProperty('retry-after');
    expect(log.at('error')).toEqual([
      { level: 'error', message: 'unhandled error', data: { requestId: 'req-500', error: bug } },
    ]);
  });
});

describe('requests no route matched', () => {
  it.each([
    { method: 'PUT', path: '/tasks', allow: 'GET, POST' },
    { method: 'DELETE', path: '/tasks/', allow: 'GET, POST' },
    { method: 'PATCH', path: '/tasks/f47ac10b-58cc-4372-a567-0e02b2c3d479', allow: 'GET, DELETE' },
    { method: 'POST', path: '/tasks/abc/', allow: 'GET, DELETE' },
  ])('answers 405 with Allow: $allow to $method $path', async ({ method, path, allow }) => {
    const { store, deps } = setup();

    const response = await handleApiRequest(httpRequestFactory({ method, path }), deps);

    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe(allow);
    expect(errorOf(response).code).toBe('MethodNotAllowed');
    expect(store.calls).toEqual([]);
  });

  it.each([
    { method: 'GET', path: '/' },
    { method: 'GET', path: '/jobs' },
    { method: 'POST', path: '/tasks/abc/cancel' },
    { method: 'GET', path: '/taskss' },
  ])('answers 404 to $method $path', async ({ method, path }) => {
    const { deps } = setup();

    const response = await handleApiRequest(httpRequestFactory({ method, path }), deps);

    expect(response.statusCode).toBe(404);
    expect(response.headers).not.toHaveProperty('allow');
    expect(errorOf(response).code).toBe('NotFound');
  });
});
