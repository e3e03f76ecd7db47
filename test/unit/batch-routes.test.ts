import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse } from '../../functions/api/http.js';
import { type ApiDeps, handleApiRequest } from '../../functions/api/routes.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { API_ROUTES, BATCH_LIMITS } from '../../shared/api-routes.js';
import { ConfigError, DependencyUnavailableError } from '../../shared/errors.js';
import { FAIR_SHARE_COUNTS } from '../../shared/metric-names.js';
import { type Task, toTaskView } from '../../shared/task.js';
import { httpRequestFactory, OTHER_OWNER, TEST_OWNER, taskFactory } from '../support/factories.js';
import { FakeScheduleService } from '../support/fake-schedule-service.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryFairShare } from '../support/in-memory-fair-share.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';
import { RecordingTaskMetrics } from '../support/recording-task-metrics.js';

const RETRY_AFTER_SECONDS = 2;

function setup(tasks: readonly Task[] = [], overrides: Partial<ApiDeps> = {}) {
  const store = new InMemoryTaskStore(tasks);
  const queue = new FakeTaskQueue();
  const clock = new FakeClock();
  const metrics = new RecordingTaskMetrics();
  const deps: ApiDeps = {
    store,
    queue,
    registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
    clock: clock.now,
    log: new RecordingLog(),
    metrics,
    maxBodyBytes: 64 * 1024,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
    defaultMaxAttempts: 3,
    ttlDays: 7,
    ownerGroup: (owner) => `group-of-${owner}`,
    ...overrides,
  };
  return { store, queue, clock, metrics, deps };
}

const batchRequest = (body: unknown, overrides: Partial<HttpRequest> = {}) =>
  httpRequestFactory({
    routeKey: API_ROUTES.submitTasks,
    method: 'POST',
    path: '/tasks/batch',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    ...overrides,
  });

const idsRequest = (query: Record<string, string>, ownerId = TEST_OWNER) =>
  httpRequestFactory({ routeKey: API_ROUTES.listTasks, path: '/tasks', query, ownerId });

const json = (response: HttpResponse) => JSON.parse(response.body);
const echo = (n: number, extra: Record<string, unknown> = {}) => ({ type: 'echo', payload: { n }, ...extra });

describe('POST /tasks/batch', () => {
  it('records and enqueues each item, answering 202 with one result per item in order', async () => {
    const { store, queue, deps } = setup();

    const response = await handleApiRequest(
      batchRequest({ tasks: [echo(1), echo(2), echo(3, { delaySeconds: 30 })] }),
      deps,
    );

    expect(response.statusCode).toBe(202);
    expect(response.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    const { results } = json(response);
    expect(results).toHaveLength(3);
    for (const [n, result] of results.entries()) {
      expect(result).toEqual({ taskId: expect.any(String), status: 'QUEUED', location: `/tasks/${result.taskId}` });
      expect(store.peek(result.taskId)).toMatchObject({ payload: { n: n + 1 }, ownerGroup: `group-of-${TEST_OWNER}` });
    }
    expect(queue.enqueued.map((call) => [call.message.taskId, call.options?.delaySeconds])).toEqual([
      [results[0].taskId, undefined],
      [results[1].taskId, undefined],
      [results[2].taskId, 30],
    ]);
    expect(queue.enqueued.every((call) => call.message.group === `group-of-${TEST_OWNER}`)).toBe(true);
  });

  it('takes every field of POST /tasks per item: priority, lane, callbackUrl, and a runAt beyond SQS’s delay by a schedule', async () => {
    const scheduler = new FakeScheduleService();
    const { store, queue, clock, deps } = setup([], {
      lanes: ['default', 'long'],
      checkCallbackUrl: async (url) => url,
      scheduler,
      scheduleLimits: { runAtQueueDelayMaxSeconds: 900, maxRunAtDays: 365, maxPerOwner: 10 },
    });
    const tomorrow = new Date(clock.now().getTime() + 86_400_000).toISOString();

    const response = await handleApiRequest(
      batchRequest({
        tasks: [
          echo(1, { priority: 'high', lane: 'long' }),
          echo(2, { callbackUrl: 'https://hooks.example.com/done' }),
          echo(3, { runAt: tomorrow }),
        ],
      }),
      deps,
    );

    expect(response.statusCode).toBe(202);
    const [high, called, later] = json(response).results.map((result: { taskId: string }) => result.taskId);
    expect(store.peek(high)).toMatchObject({ lane: 'long', priority: 'high' });
    expect(store.peek(called)?.callback).toEqual({ url: 'https://hooks.example.com/done' });
    expect(store.peek(later)).toMatchObject({ runAt: tomorrow, runAtSchedule: `t-${later}` });
    // The far-off task waits for its one-time schedule; the others' messages go to their own lane and priority.
    expect(scheduler.calls).toEqual([{ method: 'put', name: `t-${later}` }]);
    expect(queue.enqueued.map((call) => call.message)).toEqual([
      expect.objectContaining({ taskId: high, lane: 'long', priority: 'high' }),
      expect.objectContaining({ taskId: called, lane: 'default', priority: 'normal' }),
    ]);
  });

  it('refuses an item with both payload and payloadRef, and an item in a lane the deployment lacks, as their own errors', async () => {
    const { store, deps } = setup();

    const response = await handleApiRequest(
      batchRequest({ tasks: [echo(1, { payloadRef: 'abc' }), echo(2, { lane: 'gpu' }), echo(3)] }),
      deps,
    );

    expect(response.statusCode).toBe(207);
    const { results } = json(response);
    expect(results.map((result: { error?: { code: string } }) => result.error?.code)).toEqual([
      'InvalidRequest',
      'UnknownLane',
      undefined,
    ]);
    expect(store.size).toBe(1);
  });

  it('sends the messages in batches of ten when the queue takes batches', async () => {
    const { queue, deps } = setup();
    const tasks = Array.from({ length: 23 }, (_, n) => echo(n));

    const response = await handleApiRequest(batchRequest({ tasks }), deps);

    expect(response.statusCode).toBe(202);
    expect(queue.batches.map((batch) => batch.length)).toEqual([10, 10, 3]);
  });

  it('sends the messages one by one to a queue that takes no batches', async () => {
    const { queue, deps } = setup();
    const single = { enqueue: queue.enqueue.bind(queue), retryLater: queue.retryLater.bind(queue) };

    const response = await handleApiRequest(batchRequest({ tasks: [echo(1), echo(2)] }), { ...deps, queue: single });

    expect(response.statusCode).toBe(202);
    expect(queue.enqueued).toHaveLength(2);
    expect(queue.batches).toEqual([]);
  });

  it('answers 207 when some items were refused: each bad item fails alone and leaves nothing behind', async () => {
    const { store, deps } = setup();
    const tasks = [
      echo(1),
      { type: 'nope' },
      { type: 'sleep', payload: { ms: 'x' } },
      { type: 'echo', extra: 1 },
      echo(5),
    ];

    const response = await handleApiRequest(batchRequest({ tasks }), deps);

    expect(response.statusCode).toBe(207);
    const { results } = json(response);
    expect(results.map((r: { taskId?: string; error?: { code: string } }) => r.error?.code ?? 'accepted')).toEqual([
      'accepted',
      'UnknownTaskType',
      'InvalidPayload',
      'InvalidRequest',
      'accepted',
    ]);
    expect(results[2].error.details).toEqual([{ path: 'payload.ms', message: expect.any(String) }]);
    expect(store.calls.filter((call) => call.method === 'create')).toHaveLength(2);
  });

  it('refuses an item whose message could not be sent, and discards its record', async () => {
    const { store, queue, deps } = setup();
    queue.failNextBatchEntry(1, new DependencyUnavailableError('task queue'));

    const response = await handleApiRequest(batchRequest({ tasks: [echo(1), echo(2), echo(3)] }), deps);

    expect(response.statusCode).toBe(207);
    const { results } = json(response);
    expect(results[1]).toEqual({ error: { code: 'ServiceUnavailable', message: expect.any(String) } });
    expect(store.calls.filter((call) => call.method === 'discard')).toHaveLength(1);
    expect([results[0].taskId, results[2].taskId].map((id: string) => store.peek(id)?.status)).toEqual([
      'QUEUED',
      'QUEUED',
    ]);
    expect(store.size).toBe(2);
  });

  it('refuses an item whose record could not be written, the others going on', async () => {
    const { store, deps } = setup();
    store.failNext('create', new DependencyUnavailableError('task table'));

    const response = await handleApiRequest(batchRequest({ tasks: [echo(1), echo(2)] }), deps);

    expect(response.statusCode).toBe(207);
    expect(json(response).results.filter((r: { error?: unknown }) => r.error)).toEqual([
      { error: { code: 'ServiceUnavailable', message: expect.any(String) } },
    ]);
  });

  it('answers an item that failed on our side as a request would be answered: a generic InternalError, logged', async () => {
    const { store, deps } = setup();
    const log = new RecordingLog();
    store.failNext('create', new ConfigError('the table name is missing'));

    const response = await handleApiRequest(batchRequest({ tasks: [echo(1), echo(2)] }), { ...deps, log });

    expect(response.statusCode).toBe(207);
    const [refused] = json(response).results.filter((r: { error?: unknown }) => r.error);
    expect(refused).toEqual({ error: { code: 'InternalError', message: expect.stringContaining('on our side') } });
    expect(JSON.stringify(refused)).not.toContain('table name');
    expect(log.entries.some((entry) => entry.level === 'error')).toBe(true);
  });

  it('makes idempotency keys work per item: a replay returns the same task, a key reused with another body is 409 for that item', async () => {
    const { store, deps } = setup();
    const first = json(await handleApiRequest(batchRequest({ tasks: [echo(1, { idempotencyKey: 'a' })] }), deps));

    const again = await handleApiRequest(
      batchRequest({
        tasks: [echo(1, { idempotencyKey: 'a' }), echo(2, { idempotencyKey: 'b' }), echo(9, { idempotencyKey: 'c' })],
      }),
      deps,
    );
    const conflict = await handleApiRequest(batchRequest({ tasks: [echo(7, { idempotencyKey: 'a' })] }), deps);

    expect(again.statusCode).toBe(202);
    expect(json(again).results[0]).toEqual({ ...first.results[0], replayed: true });
    expect(json(conflict).results).toEqual([{ error: { code: 'IdempotencyKeyReused', message: expect.any(String) } }]);
    expect(conflict.statusCode).toBe(207);
    expect(store.size).toBe(3);
  });

  it.each([
    ['no tasks', { tasks: [] }, 'InvalidRequest'],
    [
      `more than ${BATCH_LIMITS.tasks} tasks`,
      { tasks: Array.from({ length: BATCH_LIMITS.tasks + 1 }, () => echo(1)) },
      'InvalidRequest',
    ],
    ['tasks that are not a list', { tasks: echo(1) }, 'InvalidRequest'],
    ['a field besides tasks', { tasks: [echo(1)], priority: 1 }, 'InvalidRequest'],
    [
      'two items with one idempotency key',
      { tasks: [echo(1, { idempotencyKey: 'k' }), echo(2), echo(3, { idempotencyKey: 'k' })] },
      'DuplicateIdempotencyKey',
    ],
  ])('refuses a batch with %s: 400 %s, nothing recorded', async (_case, body, code) => {
    const { store, queue, deps } = setup();

    const response = await handleApiRequest(batchRequest(body), deps);

    expect(response.statusCode).toBe(400);
    expect(json(response).error.code).toBe(code);
    expect(store.calls).toEqual([]);
    expect(queue.enqueued).toEqual([]);
  });

  it('names both items that share a key', async () => {
    const { deps } = setup();
    const body = { tasks: [echo(1, { idempotencyKey: 'k' }), echo(2), echo(3, { idempotencyKey: 'k' })] };

    const response = await handleApiRequest(batchRequest(body), deps);

    expect(json(response).error.details).toEqual([
      { path: 'tasks[2].idempotencyKey', message: 'repeats the key of tasks[0]' },
    ]);
  });

  it('refuses an Idempotency-Key header on a batch: each item carries its own', async () => {
    const { store, deps } = setup();

    const response = await handleApiRequest(
      batchRequest({ tasks: [echo(1)] }, { headers: { 'content-type': 'application/json', 'idempotency-key': 'k' } }),
      deps,
    );

    expect(response.statusCode).toBe(400);
    expect(store.calls).toEqual([]);
  });

  it('refuses a bad idempotencyKey in one item as that item’s error', async () => {
    const { deps } = setup();

    const response = await handleApiRequest(
      batchRequest({ tasks: [echo(1, { idempotencyKey: 'a\u0000b' }), echo(2)] }),
      deps,
    );

    expect(response.statusCode).toBe(207);
    expect(json(response).results[0].error.code).toBe('InvalidIdempotencyKey');
  });

  it('answers 413 to a batch over the body limit, for the whole request', async () => {
    const { store, deps } = setup([], { maxBodyBytes: 200 });

    const response = await handleApiRequest(batchRequest({ tasks: Array.from({ length: 10 }, () => echo(1)) }), deps);

    expect(response.statusCode).toBe(413);
    expect(store.calls).toEqual([]);
  });
});

describe('submit rate limit', () => {
  const rate = { maxTasks: 5, windowSeconds: 60 };

  it('answers 429 with Retry-After and the error shape once the owner is over its limit, recording nothing', async () => {
    const limiter = new InMemoryFairShare();
    const { store, metrics, deps } = setup([], { submitRate: { limiter, rate } });
    await handleApiRequest(batchRequest({ tasks: [echo(1), echo(2), echo(3), echo(4)] }), deps);
    const before = store.size;

    const response = await handleApiRequest(batchRequest({ tasks: [echo(5), echo(6)] }), deps);

    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('60');
    expect(json(response).error).toEqual({
      code: 'RateLimited',
      message: expect.any(String),
      requestId: expect.any(String),
    });
    expect(store.size).toBe(before);
    expect(metrics.count(FAIR_SHARE_COUNTS.submitRateLimited)).toBe(1);
  });

  it('keys the limit by the owner’s group, so each owner has its own and the table holds no owner id', async () => {
    const limiter = new InMemoryFairShare();
    const { deps } = setup([], { submitRate: { limiter, rate } });
    const submit = (ownerId: string) =>
      handleApiRequest(batchRequest({ tasks: Array.from({ length: 5 }, (_, n) => echo(n)) }, { ownerId }), deps);

    expect((await submit(TEST_OWNER)).statusCode).toBe(202);
    expect((await submit(OTHER_OWNER)).statusCode).toBe(202);
    expect(
      [...limiter.windows.keys()].some((key) => key.includes(TEST_OWNER.slice(4)) && !key.includes('group-of')),
    ).toBe(false);
  });

  it('counts only the valid items of a batch', async () => {
    const limiter = new InMemoryFairShare();
    const { deps } = setup([], { submitRate: { limiter, rate } });

    const response = await handleApiRequest(
      batchRequest({ tasks: [...Array.from({ length: 5 }, (_, n) => echo(n)), { type: 'nope' }] }),
      deps,
    );

    expect(response.statusCode).toBe(207);
  });

  it('refuses a batch larger than a whole window allows with 400: a 429 would be retried for ever', async () => {
    const { store, deps } = setup([], { submitRate: { limiter: new InMemoryFairShare(), rate } });

    const response = await handleApiRequest(
      batchRequest({ tasks: Array.from({ length: 6 }, (_, n) => echo(n)) }),
      deps,
    );

    expect(response.statusCode).toBe(400);
    expect(store.calls).toEqual([]);
  });
});

describe('GET /tasks?ids=', () => {
  it('returns the caller’s tasks among the ids, in the order asked, as full task views', async () => {
    const done = taskFactory({ status: 'SUCCEEDED', result: { ok: 1 }, attempt: 1 });
    const queued = taskFactory();
    const others = taskFactory({ ownerId: OTHER_OWNER });
    const { deps } = setup([done, queued, others]);
    const unknown = '00000000-0000-4000-8000-000000000000';

    const response = await handleApiRequest(
      idsRequest({ ids: [queued.taskId, others.taskId, unknown, 'not-an-id', done.taskId].join(',') }),
      deps,
    );

    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ tasks: [toTaskView(queued), toTaskView(done)] });
    expect(response.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
  });

  it('reads each id once, owner-scoped, as GET /tasks/{id} does', async () => {
    const task = taskFactory();
    const { store, deps } = setup([task]);

    await handleApiRequest(idsRequest({ ids: `${task.taskId},${task.taskId}` }), deps);

    expect(store.calls).toEqual([{ method: 'get', taskId: task.taskId }]);
  });

  it('answers another owner exactly as for unknown ids: no tasks', async () => {
    const task = taskFactory();
    const { deps } = setup([task]);

    const response = await handleApiRequest(idsRequest({ ids: task.taskId }, OTHER_OWNER), deps);

    expect(json(response)).toEqual({ tasks: [] });
  });

  it('stops short of the response limit and says which ids are left', async () => {
    const big = Array.from({ length: 6 }, () =>
      taskFactory({ status: 'SUCCEEDED', attempt: 1, result: 'x'.repeat(250 * 1024) }),
    );
    const { deps } = setup(big);

    const response = await handleApiRequest(idsRequest({ ids: big.map((t) => t.taskId).join(',') }), deps);

    const body = json(response);
    expect(body.tasks.length).toBeGreaterThan(0);
    expect(body.tasks.length + body.nextIds.length).toBe(6);
    expect(body.nextIds).toEqual(big.slice(body.tasks.length).map((t) => t.taskId));
    expect(Buffer.byteLength(response.body)).toBeLessThan(1.1 * 1024 * 1024);
  });

  it.each([
    ['an empty list', { ids: '' }],
    ['an empty entry', { ids: 'a,,b' }],
    [`more than ${BATCH_LIMITS.ids} ids`, { ids: Array.from({ length: 101 }, (_, i) => `id-${i}`).join(',') }],
    ['ids with a status', { ids: 'a', status: 'QUEUED' }],
    ['ids with a cursor', { ids: 'a', cursor: 'x' }],
  ])('answers 400 InvalidQuery to %s, reading nothing', async (_case, query) => {
    const { store, deps } = setup();

    const response = await handleApiRequest(idsRequest(query), deps);

    expect(response.statusCode).toBe(400);
    expect(json(response).error.code).toBe('InvalidQuery');
    expect(store.calls).toEqual([]);
  });

  it('takes 100 ids in one query value, longer than other values may be', async () => {
    const tasks = Array.from({ length: BATCH_LIMITS.ids }, () => taskFactory());
    const { deps } = setup(tasks);

    const response = await handleApiRequest(idsRequest({ ids: tasks.map((t) => t.taskId).join(',') }), deps);

    expect(response.statusCode).toBe(200);
    expect(json(response).tasks).toHaveLength(BATCH_LIMITS.ids);
  });
});
