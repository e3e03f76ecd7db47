import { describe, expect, it } from 'vitest';
import {
  OffloadApiError,
  OffloadClient,
  OffloadClientError,
  TaskCancelledError,
  TaskFailedError,
  type TaskView,
  TaskWaitTimeoutError,
} from '../../client/index.js';

const TASK_ID = '6f1c8a52-3a5e-4c1e-9d8e-1b2c3d4e5f60';

const view = (overrides: Partial<TaskView> = {}): TaskView => ({
  taskId: TASK_ID,
  type: 'echo',
  status: 'QUEUED',
  lane: 'default',
  priority: 'normal',
  attempts: 0,
  maxAttempts: 3,
  createdAt: '2026-11-26T12:00:00.000Z',
  updatedAt: '2026-11-26T12:00:00.000Z',
  ...overrides,
});

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

type Answer = Response | Error;

/** A fetch that answers from a script and records each request; sleeps are recorded, not waited. */
function fakeApi(answers: Answer[], options: { random?: () => number } = {}) {
  const requests: { method: string; url: string; headers: Headers; body?: string }[] = [];
  const sleeps: number[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    requests.push({
      method: init?.method ?? 'GET',
      url: String(input),
      headers: new Headers(init?.headers),
      body: init?.body as string | undefined,
    });
    const answer = answers.shift();
    if (!answer) throw new Error('the fake API ran out of answers');
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const client = new OffloadClient({
    baseUrl: 'https://api.example.com/',
    token: 'tok',
    fetch,
    random: options.random ?? (() => 0.5),
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      signal?.throwIfAborted();
    },
  });
  return { client, requests, sleeps };
}

const unavailable = () =>
  json(
    503,
    { error: { code: 'ServiceUnavailable', message: 'The task queue is unavailable; retry later.', requestId: 'r-1' } },
    {
      'retry-after': '2',
    },
  );

describe('OffloadClient.submit', () => {
  it('posts the type, payload and delay with a bearer token and an Idempotency-Key', async () => {
    const { client, requests } = fakeApi([json(202, view())]);

    const task = await client.submit('sleep', { ms: 10 }, { delaySeconds: 5 });

    expect(task.id).toBe(TASK_ID);
    const [request] = requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('https://api.example.com/tasks');
    expect(JSON.parse(request?.body ?? '')).toEqual({ type: 'sleep', payload: { ms: 10 }, delaySeconds: 5 });
    expect(request?.headers.get('authorization')).toBe('Bearer tok');
    expect(request?.headers.get('content-type')).toBe('application/json');
    expect(request?.headers.get('idempotency-key')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends the priority and the lane when asked for, and neither otherwise', async () => {
    const { client, requests } = fakeApi([json(202, view()), json(202, view())]);

    await client.submit('sleep', { ms: 10 }, { priority: 'high', lane: 'long' });
    await client.submit('sleep', { ms: 10 });

    expect(requests.map((request) => JSON.parse(request.body ?? ''))).toEqual([
      { type: 'sleep', payload: { ms: 10 }, priority: 'high', lane: 'long' },
      { type: 'sleep', payload: { ms: 10 } },
    ]);
  });

  it('retries 503 after its Retry-After, reusing the one Idempotency-Key', async () => {
    const { client, requests, sleeps } = fakeApi([unavailable(), unavailable(), json(202, view())]);

    const task = await client.submit('echo', { hello: 'world' });

    expect(task.id).toBe(TASK_ID);
    expect(requests).toHaveLength(3);
    const keys = new Set(requests.map((request) => request.headers.get('idempotency-key')));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toBeTruthy();
    expect(sleeps).toEqual([2000, 2000]);
  });

  it.each([
    ['a network error', () => new TypeError('fetch failed')],
    ['429 without Retry-After', () => json(429, { message: 'Too Many Requests' })],
  ])('retries %s with jittered backoff and the caller’s key', async (_case, failure) => {
    const { client, requests, sleeps } = fakeApi([failure(), failure(), json(202, view())]);

    await client.submit('echo', 1, { idempotencyKey: 'order-42' });

    expect(requests.map((request) => request.headers.get('idempotency-key'))).toEqual([
      'order-42',
      'order-42',
      'order-42',
    ]);
    // Full jitter with random() = 0.5 over 250 ms, then 500 ms.
    expect(sleeps).toEqual([125, 250]);
  });

  it('gives up after maxAttempts with the last error as an OffloadApiError', async () => {
    const { client, requests } = fakeApi([unavailable(), unavailable(), unavailable(), unavailable()]);

    const error = await client.submit('echo', {}).catch((caught: unknown) => caught);

    expect(requests).toHaveLength(4);
    expect(error).toBeInstanceOf(OffloadApiError);
    expect(error).toMatchObject({ status: 503, code: 'ServiceUnavailable', requestId: 'r-1' });
  });

  it('gives up on an unreachable API with a NetworkError naming the reason', async () => {
    const refused = () => new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    const { client, requests } = fakeApi([refused(), refused(), refused(), refused()]);

    const error = await client.list().catch((caught: unknown) => caught);

    expect(requests).toHaveLength(4);
    expect(error).toBeInstanceOf(OffloadClientError);
    expect(error).toMatchObject({ code: 'NetworkError', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('does not retry a 400, and carries its code, details and request id', async () => {
    const body = {
      error: {
        code: 'InvalidPayload',
        message: 'The payload does not match task type "sleep".',
        details: [{ path: 'payload.ms', message: 'Invalid input: expected number, received string' }],
        requestId: 'r-400',
      },
    };
    const { client, requests } = fakeApi([json(400, body)]);

    const error = await client.submit('sleep', { ms: 1 }).catch((caught: unknown) => caught);

    expect(requests).toHaveLength(1);
    expect(error).toMatchObject({
      name: 'OffloadApiError',
      status: 400,
      code: 'InvalidPayload',
      details: body.error.details,
      requestId: 'r-400',
    });
  });

  it('turns an API Gateway error body into an OffloadApiError with an Http code', async () => {
    const { client } = fakeApi([json(401, { message: 'Unauthorized' }, { 'apigw-requestid': 'gw-1' })]);

    const error = await client.get(TASK_ID).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ status: 401, code: 'Http401', message: 'Unauthorized', requestId: 'gw-1' });
  });
});

describe('TaskHandle.result', () => {
  const running = (progress?: TaskView['progress'], headers: Record<string, string> = { 'retry-after': '1' }) =>
    json(200, view({ status: 'RUNNING', attempts: 1, ...(progress && { progress }) }), headers);

  it('polls until SUCCEEDED, never sooner than Retry-After, and resolves with the result', async () => {
    const { client, sleeps, requests } = fakeApi([
      running(undefined, { 'retry-after': '3' }),
      running(),
      json(200, view({ status: 'SUCCEEDED', attempts: 1, result: { sleptMs: 5 } })),
    ]);

    const result = await client.task<{ sleptMs: number }>(TASK_ID).result();

    expect(result).toEqual({ sleptMs: 5 });
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual(
      Array(3).fill(`GET https://api.example.com/tasks/${TASK_ID}`),
    );
    expect(sleeps).toEqual([3000, 1000]);
  });

  it('backs off with jitter up to the cap when the server gives no Retry-After', async () => {
    const polls = Array.from({ length: 7 }, () => running(undefined, {}));
    const { client, sleeps } = fakeApi([...polls, json(200, view({ status: 'SUCCEEDED', result: 1 }))], {
      random: () => 1,
    });

    await client.task(TASK_ID).result();

    expect(sleeps).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
  });

  it('reports each change of status or progress once', async () => {
    const { client } = fakeApi([
      json(200, view()),
      running({ percent: 10 }),
      running({ percent: 10 }),
      running({ percent: 60, message: 'half' }),
      json(200, view({ status: 'SUCCEEDED', result: 'ok' })),
    ]);
    const seen: string[] = [];

    await client.task(TASK_ID).result({
      onProgress: (task) =>
        seen.push(`${task.status} ${task.progress?.percent ?? '-'} ${task.progress?.message ?? ''}`),
    });

    expect(seen).toEqual(['QUEUED - ', 'RUNNING 10 ', 'RUNNING 60 half', 'SUCCEEDED - ']);
  });

  it('rejects with TaskFailedError carrying the task’s error code', async () => {
    const failed = view({ status: 'FAILED', attempts: 1, error: { code: 'Boom', message: 'It broke.' } });
    const { client } = fakeApi([json(200, failed)]);

    const error = await client
      .task(TASK_ID)
      .result()
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ code: 'Boom', message: 'It broke.', taskId: TASK_ID, task: failed });
  });

  it('rejects with TaskCancelledError when the task was cancelled', async () => {
    const { client } = fakeApi([json(200, view({ status: 'CANCELLED' }))]);

    const error = await client
      .task(TASK_ID)
      .result()
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TaskCancelledError);
    expect(error).toMatchObject({ code: 'Cancelled', taskId: TASK_ID });
  });

  it('stops polling when aborted, rejecting with the signal’s reason', async () => {
    const controller = new AbortController();
    const { client, requests } = fakeApi([running(), running(), running()]);
    const reason = new Error('user gave up');

    const error = await client
      .task(TASK_ID)
      .result({ signal: controller.signal, onProgress: () => controller.abort(reason) })
      .catch((caught: unknown) => caught);

    expect(error).toBe(reason);
    expect(requests).toHaveLength(1);
  });

  it('gives up at timeoutMs with TaskWaitTimeoutError and the last view', async () => {
    const { client } = fakeApi([running({ percent: 5 })]);

    const error = await client
      .task(TASK_ID)
      .result({ timeoutMs: 0 })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TaskWaitTimeoutError);
    expect(error).toMatchObject({ code: 'WaitTimeout', task: { status: 'RUNNING', progress: { percent: 5 } } });
  });
});

describe('OffloadClient.list and cancel', () => {
  it('sends the filters as a query string', async () => {
    const { client, requests } = fakeApi([json(200, { tasks: [view()], nextCursor: 'c2' })]);

    const listing = await client.list({ status: 'RUNNING', limit: 5, cursor: 'c1' });

    expect(requests[0]?.url).toBe('https://api.example.com/tasks?status=RUNNING&limit=5&cursor=c1');
    expect(listing).toEqual({ tasks: [view()], nextCursor: 'c2' });
  });

  it('cancels with DELETE and answers the task view', async () => {
    const { client, requests } = fakeApi([json(200, view({ status: 'CANCELLED' }))]);

    const task = await client.task(TASK_ID).cancel();

    expect(requests[0]?.method).toBe('DELETE');
    expect(task.status).toBe('CANCELLED');
  });
});

describe('OffloadClient transport safety', () => {
  const ok = () => json(200, { tasks: [] });
  const fetchOk: typeof globalThis.fetch = async () => ok();

  it.each(['https://api.example.com', 'http://127.0.0.1:3000', 'http://localhost:3000/', 'http://[::1]:3000'])(
    'accepts %s',
    async (baseUrl) => {
      await expect(new OffloadClient({ baseUrl, fetch: fetchOk }).list()).resolves.toEqual({ tasks: [] });
    },
  );

  it.each([
    ['http://api.example.com', 'InsecureUrl'],
    ['http://10.0.0.5:3000', 'InsecureUrl'],
    ['http://127.0.0.1.nip.io', 'InsecureUrl'],
    ['ftp://api.example.com', 'InvalidUrl'],
    ['api.example.com', 'InvalidUrl'],
  ])(
    'refuses %s when the client is made, before anything is sent (the token would travel in clear)',
    (baseUrl, code) => {
      const construct = () => new OffloadClient({ baseUrl, token: 't', fetch: fetchOk });

      expect(construct).toThrow(OffloadClientError);
      expect(construct).toThrow(expect.objectContaining({ code }));
    },
  );

  it('talks plain http to another host only when told to', async () => {
    const client = new OffloadClient({ baseUrl: 'http://api.test.internal', allowInsecureHttp: true, fetch: fetchOk });

    await expect(client.list()).resolves.toEqual({ tasks: [] });
  });

  it('waits no longer than a minute however long Retry-After asks, on retries and between polls', async () => {
    const { client, sleeps } = fakeApi([
      json(503, { error: { code: 'ServiceUnavailable', message: 'm', requestId: 'r' } }, { 'retry-after': '86400' }),
      json(202, view()),
      json(200, view({ status: 'RUNNING' }), { 'retry-after': '3600' }),
      json(200, view({ status: 'SUCCEEDED', result: 1 })),
    ]);

    const task = await client.submit('echo', 1);
    await task.result();

    expect(sleeps).toEqual([60_000, 60_000]);
  });

  it('takes a lower cap when given one', async () => {
    const sleeps: number[] = [];
    const answers = [json(429, { message: 'Too Many Requests' }, { 'retry-after': '30' }), json(200, view())];
    const client = new OffloadClient({
      baseUrl: 'https://api.example.com',
      maxRetryAfterMs: 5_000,
      fetch: async () => answers.shift() ?? ok(),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

    await client.get(TASK_ID);

    expect(sleeps).toEqual([5_000]);
  });
});

describe('OffloadClient with runAt and schedules', () => {
  const schedule = {
    name: 'nightly',
    expression: 'cron(0 2 * * ? *)',
    timezone: 'Europe/Berlin',
    task: { type: 'echo', payload: {} },
    enabled: true,
    createdAt: '2026-11-26T12:00:00.000Z',
    updatedAt: '2026-11-26T12:00:00.000Z',
    nextRunAt: '2026-11-27T01:00:00.000Z',
  };

  it('sends runAt as an ISO time', async () => {
    const { client, requests } = fakeApi([json(202, view())]);

    await client.submit('echo', {}, { runAt: new Date('2027-01-01T09:00:00+01:00') });

    expect(JSON.parse(requests[0]?.body ?? '')).toEqual({
      type: 'echo',
      payload: {},
      runAt: '2027-01-01T08:00:00.000Z',
    });
  });

  it('creates a schedule with its task and dates as the API takes them', async () => {
    const { client, requests } = fakeApi([json(201, schedule)]);

    const created = await client.schedules.create({
      name: 'nightly',
      expression: 'cron(0 2 * * ? *)',
      timezone: 'Europe/Berlin',
      task: { type: 'sleep', payload: { ms: 5 } },
      endAt: new Date('2027-01-01T00:00:00Z'),
    });

    expect(created).toEqual(schedule);
    expect(requests[0]).toMatchObject({ method: 'POST', url: 'https://api.example.com/schedules' });
    expect(requests[0]?.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(requests[0]?.body ?? '')).toEqual({
      name: 'nightly',
      expression: 'cron(0 2 * * ? *)',
      timezone: 'Europe/Berlin',
      task: { type: 'sleep', payload: { ms: 5 } },
      endAt: '2027-01-01T00:00:00.000Z',
    });
  });

  it('lists, reads, changes and deletes schedules by their (escaped) names', async () => {
    const { client, requests } = fakeApi([
      json(200, { schedules: [], nextCursor: 'c2' }),
      json(200, schedule),
      json(200, { ...schedule, enabled: false }),
      new Response(null, { status: 204 }),
    ]);

    expect((await client.schedules.list({ limit: 5, cursor: 'c1' })).nextCursor).toBe('c2');
    await client.schedules.get('a.b');
    expect((await client.schedules.update('nightly', { enabled: false })).enabled).toBe(false);
    await client.schedules.delete('nightly');

    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET https://api.example.com/schedules?limit=5&cursor=c1',
      'GET https://api.example.com/schedules/a.b',
      'PATCH https://api.example.com/schedules/nightly',
      'DELETE https://api.example.com/schedules/nightly',
    ]);
    expect(JSON.parse(requests[2]?.body ?? '')).toEqual({ enabled: false });
  });

  it("rejects with the API's 404 for another owner's schedule", async () => {
    const { client } = fakeApi([
      json(404, { error: { code: 'NotFound', message: 'No such schedule.', requestId: 'r-2' } }),
    ]);

    await expect(client.schedules.get('theirs')).rejects.toMatchObject({ status: 404, code: 'NotFound' });
  });
});

describe('OffloadClient.submitMany', () => {
  const accepted = (taskId: string, extra: Record<string, unknown> = {}) => ({
    taskId,
    status: 'QUEUED',
    location: `/tasks/${taskId}`,
    ...extra,
  });
  const refused = (code: string) => ({ error: { code, message: `${code} on purpose` } });

  it('posts the items with an idempotency key each and answers one result per item, in order', async () => {
    const { client, requests } = fakeApi([
      json(207, { results: [accepted('t-1'), refused('InvalidPayload'), accepted('t-3', { replayed: true })] }),
    ]);

    const results = await client.submitMany([
      { type: 'echo', payload: { n: 1 } },
      { type: 'sleep', payload: { ms: 'x' } },
      { type: 'echo', payload: { n: 3 }, idempotencyKey: 'mine', delaySeconds: 5 },
    ]);

    expect(results.map((r) => (r.ok ? [r.task.id, r.replayed] : r.error.code))).toEqual([
      ['t-1', false],
      'InvalidPayload',
      ['t-3', true],
    ]);
    const [request] = requests;
    expect(request?.url).toBe('https://api.example.com/tasks/batch');
    const { tasks } = JSON.parse(request?.body ?? '');
    expect(tasks[0]).toEqual({ type: 'echo', payload: { n: 1 }, idempotencyKey: expect.any(String) });
    expect(tasks[2]).toEqual({ type: 'echo', payload: { n: 3 }, idempotencyKey: 'mine', delaySeconds: 5 });
  });

  it('sends more than 100 items in requests of 100', async () => {
    const many = Array.from({ length: 230 }, (_, n) => ({ type: 'echo', payload: { n } }));
    const answer = (count: number, from: number) =>
      json(202, { results: Array.from({ length: count }, (_, i) => accepted(`t-${from + i}`)) });
    const { client, requests } = fakeApi([answer(100, 0), answer(100, 100), answer(30, 200)]);

    const results = await client.submitMany(many);

    expect(requests.map((r) => JSON.parse(r.body ?? '').tasks.length)).toEqual([100, 100, 30]);
    expect(results.map((r) => r.ok && r.task.id)).toEqual(many.map((_, n) => `t-${n}`));
  });

  it('sends the items the API could not take for the moment again, with the same keys', async () => {
    const { client, requests, sleeps } = fakeApi([
      json(207, { results: [accepted('t-1'), refused('ServiceUnavailable')] }),
      json(202, { results: [accepted('t-2')] }),
    ]);

    const results = await client.submitMany([
      { type: 'echo', payload: 1 },
      { type: 'echo', payload: 2 },
    ]);

    expect(results.map((r) => r.ok)).toEqual([true, true]);
    const first = JSON.parse(requests[0]?.body ?? '').tasks[1];
    expect(JSON.parse(requests[1]?.body ?? '').tasks).toEqual([first]);
    expect(sleeps).toHaveLength(1);
  });

  it('retries a whole request refused with 429 after Retry-After, with the same keys', async () => {
    const { client, requests, sleeps } = fakeApi([
      json(429, { error: { code: 'RateLimited', message: 'slow down', requestId: 'r' } }, { 'retry-after': '7' }),
      json(202, { results: [accepted('t-1')] }),
    ]);

    await client.submitMany([{ type: 'echo', payload: 1 }]);

    expect(sleeps).toEqual([7_000]);
    expect(requests[0]?.body).toBe(requests[1]?.body);
  });

  it('throws an OffloadApiError when the batch is refused as a whole', async () => {
    const { client } = fakeApi([
      json(400, { error: { code: 'DuplicateIdempotencyKey', message: 'same key twice', requestId: 'r' } }),
    ]);

    await expect(
      client.submitMany([
        { type: 'echo', payload: 1, idempotencyKey: 'k' },
        { type: 'echo', payload: 2, idempotencyKey: 'k' },
      ]),
    ).rejects.toMatchObject({ status: 400, code: 'DuplicateIdempotencyKey' });
  });
});

describe('OffloadClient.getMany', () => {
  it('reads the tasks of many ids in requests of 100, following the ids a response left out', async () => {
    const ids = Array.from({ length: 150 }, (_, n) => `id-${n}`);
    const { client, requests } = fakeApi([
      json(200, { tasks: [view({ taskId: 'id-0' })], nextIds: ids.slice(1, 100) }),
      json(200, { tasks: ids.slice(1, 100).map((taskId) => view({ taskId })) }),
      json(200, { tasks: [view({ taskId: 'id-120' })] }),
    ]);

    const tasks = await client.getMany(ids);

    expect(tasks.map((t) => t.taskId)).toEqual([...ids.slice(0, 100), 'id-120']);
    const asked = requests.map((r) => new URL(r.url).searchParams.get('ids')?.split(',').length);
    expect(asked).toEqual([100, 100, 49]);
  });
});
