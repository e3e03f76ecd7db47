import { describe, expect, it } from 'vitest';
import { cancelTask } from '../../functions/api/cancel-task.js';
import { handleApiRequest } from '../../functions/api/routes.js';
import { submitTask } from '../../functions/api/submit-task.js';
import { markDeadLettered } from '../../functions/dead-letter/mark-dead-lettered.js';
import { sweepStuckTasks } from '../../functions/recovery/sweep-stuck-tasks.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { runTask } from '../../functions/worker/run-task.js';
import { API_ROUTES } from '../../shared/api-routes.js';
import { checkCallbackUrl } from '../../shared/callbacks/callback-url.js';
import { ConflictError, DependencyUnavailableError, ValidationError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import { serializeTaskMessage } from '../../shared/task-message.js';
import { httpRequestFactory, OTHER_OWNER, sqsRecordFor, TEST_OWNER, taskFactory } from '../support/factories.js';
import { FakeCallbackQueue } from '../support/fake-callbacks.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog, TEST_NOW } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const URL = 'https://hooks.example.com/offload';
const MINUTE = 60_000;
const withCallback = (overrides: Partial<Task> = {}) => taskFactory({ callback: { url: URL }, ...overrides });

function common(tasks: Task[]) {
  const store = new InMemoryTaskStore(tasks);
  const callbackQueue = new FakeCallbackQueue();
  const clock = new FakeClock();
  const log = new RecordingLog();
  return { store, callbackQueue, clock, log };
}

const workerDeps = (c: ReturnType<typeof common>) => ({
  store: c.store,
  queue: new FakeTaskQueue(),
  registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
  clock: c.clock.now,
  log: c.log,
  remainingTimeMs: () => 60_000,
  retryBaseDelaySeconds: 2,
  retryMaxDelaySeconds: 300,
  ttlDays: 7,
  maxResultBytes: 1024,
  leaseGraceMs: 5_000,
  callbackQueue: c.callbackQueue,
});

describe('the paths that end a task queue its callback', () => {
  it('the worker, after the finishing write of a task with a callback', async () => {
    const task = withCallback();
    const c = common([task]);

    await runTask(sqsRecordFor(task), workerDeps(c));

    expect(c.store.peek(task.taskId)?.status).toBe('SUCCEEDED');
    expect(c.callbackQueue.enqueued).toEqual([{ message: { taskId: task.taskId } }]);
  });

  it('the API, after cancelling a QUEUED task', async () => {
    const task = withCallback();
    const c = common([task]);

    await cancelTask(
      { ownerId: task.ownerId, taskId: task.taskId },
      { store: c.store, clock: c.clock.now, ttlDays: 7, callbackQueue: c.callbackQueue },
    );

    expect(c.callbackQueue.enqueued).toEqual([{ message: { taskId: task.taskId } }]);
  });

  it('the dead-letter handler, after failing an abandoned task', async () => {
    const task = withCallback();
    const c = common([task]);

    await markDeadLettered(
      { messageId: 'm-1', body: serializeTaskMessage({ taskId: task.taskId }) },
      {
        store: c.store,
        clock: c.clock.now,
        log: c.log,
        ttlDays: 7,
        clockToleranceMs: 0,
        callbackQueue: c.callbackQueue,
      },
    );

    expect(c.store.peek(task.taskId)?.status).toBe('FAILED');
    expect(c.callbackQueue.enqueued).toEqual([{ message: { taskId: task.taskId } }]);
  });

  it('none of them for a task without a callback: no message, no extra store call', async () => {
    const [ran, cancelled] = [taskFactory(), taskFactory()];
    const c = common([ran, cancelled]);

    await runTask(sqsRecordFor(ran), workerDeps(c));
    await cancelTask(
      { ownerId: cancelled.ownerId, taskId: cancelled.taskId },
      { store: c.store, clock: c.clock.now, ttlDays: 7, callbackQueue: c.callbackQueue },
    );

    expect(c.callbackQueue.enqueued).toEqual([]);
    expect(c.store.calls.map((call) => call.method)).toEqual(['claim', 'finish', 'cancel']);
  });

  it('a failed send leaves the outcome recorded and the callback to the sweep', async () => {
    const task = withCallback();
    const c = common([task]);
    c.callbackQueue.failNextEnqueue(new DependencyUnavailableError('callback queue'));

    await runTask(sqsRecordFor(task), workerDeps(c));

    expect(c.store.peek(task.taskId)?.status).toBe('SUCCEEDED');
    expect(c.log.at('warn').map((entry) => entry.message)).toContain(
      'could not queue the callback; the recovery sweep will send it',
    );
  });
});

describe('the recovery sweep and pending callbacks', () => {
  const clock = new FakeClock();
  const ago = (minutes: number) => new Date(clock.epochMs - minutes * MINUTE).toISOString();

  it.each([
    [
      'pending, ended long ago (its message was lost)',
      withCallback({ status: 'SUCCEEDED', finishedAt: ago(60) }),
      true,
    ],
    [
      'pending, ended a moment ago (its message is on its way)',
      withCallback({ status: 'SUCCEEDED', finishedAt: ago(1) }),
      false,
    ],
    [
      'waiting for a retry due long ago',
      withCallback({
        status: 'FAILED',
        finishedAt: ago(120),
        callback: {
          url: URL,
          eventAt: ago(120),
          status: 'PENDING',
          attempts: 3,
          nextAttemptAt: clock.epochMs - 60 * MINUTE,
        },
      }),
      true,
    ],
    [
      'waiting for a retry due soon',
      withCallback({
        status: 'FAILED',
        finishedAt: ago(120),
        callback: {
          url: URL,
          eventAt: ago(120),
          status: 'PENDING',
          attempts: 3,
          nextAttemptAt: clock.epochMs + MINUTE,
        },
      }),
      false,
    ],
    [
      'delivered',
      withCallback({
        status: 'SUCCEEDED',
        finishedAt: ago(60),
        callback: { url: URL, eventAt: ago(60), status: 'DELIVERED', attempts: 1 },
      }),
      false,
    ],
    ['of a task without a callback', taskFactory({ status: 'SUCCEEDED', finishedAt: ago(60) }), false],
  ] as const)('sends again the callback %s: %s', async (_case, task, expected) => {
    const store = new InMemoryTaskStore([task]);
    const callbackQueue = new FakeCallbackQueue();
    const queue = new FakeTaskQueue();

    const report = await sweepStuckTasks({
      store,
      queue,
      callbackQueue,
      clock: clock.now,
      log: new RecordingLog(),
      staleAfterSeconds: 30 * 60,
      ttlDays: 7,
    });

    expect(callbackQueue.enqueued).toEqual(expected ? [{ message: { taskId: task.taskId } }] : []);
    expect(report.callbacksResent).toBe(expected ? 1 : 0);
    expect(queue.enqueued).toEqual([]);
  });
});

describe('submitting with a callbackUrl', () => {
  const resolve = async () => [{ address: '93.184.215.14', family: 4 }];
  const setup = (checked = true) => {
    const store = new InMemoryTaskStore();
    const deps = {
      store,
      queue: new FakeTaskQueue(),
      registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
      clock: new FakeClock().now,
      log: new RecordingLog(),
      defaultMaxAttempts: 3,
      ttlDays: 7,
      ...(checked && { checkCallbackUrl: (url: string) => checkCallbackUrl(url, { allowLocal: false }, resolve) }),
    };
    return { store, deps };
  };
  const input = (callbackUrl?: string) => ({ ownerId: TEST_OWNER, type: 'echo', payload: 1, callbackUrl });

  it('stores the URL as it will be called, pending from the start', async () => {
    const { store, deps } = setup();
    const { task } = await submitTask(input('https://HOOKS.example.com/offload'), deps);

    expect(store.peek(task.taskId)?.callback).toEqual({ url: URL });
  });

  it('refuses it with InvalidCallbackUrl where the deployment sends no callbacks, before any write', async () => {
    const { store, deps } = setup(false);
    await expect(submitTask(input(URL), deps)).rejects.toMatchObject({ code: 'InvalidCallbackUrl' });
    expect(store.calls).toEqual([]);
  });

  it('refuses a URL the check refuses, before any write', async () => {
    const { store, deps } = setup();
    const error = await submitTask(input('http://hooks.example.com/'), deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(store.calls).toEqual([]);
  });

  it('counts the callbackUrl as part of an idempotent request body', async () => {
    const { deps } = setup();
    await submitTask({ ...input(URL), idempotencyKey: 'k' }, deps);

    await expect(submitTask({ ...input(URL), idempotencyKey: 'k' }, deps)).resolves.toMatchObject({ created: false });
    await expect(submitTask({ ...input(`${URL}/other`), idempotencyKey: 'k' }, deps)).rejects.toBeInstanceOf(
      ConflictError,
    );
  });
});

describe('GET /callbacks/secret', () => {
  const deps = {
    store: new InMemoryTaskStore(),
    queue: new FakeTaskQueue(),
    registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
    clock: () => TEST_NOW,
    log: new RecordingLog(),
    maxBodyBytes: 1024,
    retryAfterSeconds: 1,
    defaultMaxAttempts: 3,
    ttlDays: 7,
    callbackSecret: async (ownerId: string) => `whsec_${Buffer.from(ownerId).toString('base64')}`,
  };
  const ask = (ownerId: string | undefined, extra = {}) =>
    handleApiRequest(httpRequestFactory({ routeKey: API_ROUTES.callbackSecret, path: '/callbacks/secret', ownerId }), {
      ...deps,
      ...extra,
    });

  it('answers each caller its own secret, never another owner’s', async () => {
    const mine = await ask(TEST_OWNER);
    const theirs = await ask(OTHER_OWNER);

    expect(mine.statusCode).toBe(200);
    expect(JSON.parse(mine.body)).toEqual({ secret: `whsec_${Buffer.from(TEST_OWNER).toString('base64')}` });
    expect(JSON.parse(theirs.body).secret).not.toBe(JSON.parse(mine.body).secret);
  });

  it('answers 401 without a caller and 404 where callbacks are off', async () => {
    expect((await ask(undefined)).statusCode).toBe(401);
    expect((await ask(TEST_OWNER, { callbackSecret: undefined })).statusCode).toBe(404);
  });
});
