import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import { OTHER_OWNER, TEST_OWNER, taskFactory } from '../support/factories.js';
import { TEST_NOW } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

// The unit suites trust this fake to behave like DynamoTaskStore: these tests pin the conditions it copies.
const NOW_MS = TEST_NOW.getTime();
const LEASE = NOW_MS + 60_000;
const ERROR = { code: 'Boom', message: 'boom' };

describe('InMemoryTaskStore', () => {
  it('refuses to create a task whose id exists, keeping the first', async () => {
    const task = taskFactory();
    const store = new InMemoryTaskStore([task]);

    await expect(store.create({ ...task, ownerId: OTHER_OWNER }, 0)).rejects.toBeInstanceOf(ConflictError);

    expect(store.peek(task.taskId)).toEqual(task);
  });

  it('hands out copies, so changing a returned task changes nothing stored', async () => {
    const task = taskFactory({ payload: { nested: { n: 1 } } });
    const store = new InMemoryTaskStore([task]);

    const read = (await store.get(task.taskId)) as { payload: { nested: { n: number } } };
    read.payload.nested.n = 2;

    expect(store.peek(task.taskId)?.payload).toEqual({ nested: { n: 1 } });
  });

  it.each<{ case: string; task: Partial<Task>; claimed: boolean }>([
    { case: 'QUEUED', task: { status: 'QUEUED' }, claimed: true },
    { case: 'RUNNING, lease expired', task: { status: 'RUNNING', leaseExpiresAt: NOW_MS - 1 }, claimed: true },
    { case: 'RUNNING, lease ends now', task: { status: 'RUNNING', leaseExpiresAt: NOW_MS }, claimed: false },
    { case: 'RUNNING, live lease', task: { status: 'RUNNING', leaseExpiresAt: NOW_MS + 1 }, claimed: false },
    { case: 'RUNNING without a lease', task: { status: 'RUNNING' }, claimed: false },
    { case: 'SUCCEEDED', task: { status: 'SUCCEEDED' }, claimed: false },
    { case: 'FAILED', task: { status: 'FAILED' }, claimed: false },
    { case: 'CANCELLED', task: { status: 'CANCELLED' }, claimed: false },
  ])('claims a $case task: $claimed', async ({ task: overrides, claimed }) => {
    const task = taskFactory({ attempt: 1, ...overrides });
    const store = new InMemoryTaskStore([task]);

    const result = await store.claim(task.taskId, TEST_NOW, LEASE);

    expect(result.claimed).toBe(claimed);
    if (claimed) {
      const expected = {
        ...task,
        status: 'RUNNING',
        attempt: 2,
        startedAt: TEST_NOW.toISOString(),
        updatedAt: TEST_NOW.toISOString(),
        leaseExpiresAt: LEASE,
      };
      expect(result.task).toEqual(expected);
      expect(store.peek(task.taskId)).toEqual(expected);
    } else {
      expect(result.task).toEqual(task);
      expect(store.peek(task.taskId)).toEqual(task);
    }
  });

  it('answers a claim of an unknown id with no task', async () => {
    const store = new InMemoryTaskStore();

    expect(await store.claim('missing', TEST_NOW, LEASE)).toEqual({ claimed: false, task: undefined });
  });

  it.each([
    { case: 'the current attempt', status: 'RUNNING' as const, attempt: 2, applied: true },
    { case: 'an older attempt', status: 'RUNNING' as const, attempt: 1, applied: false },
    { case: 'a queued task', status: 'QUEUED' as const, attempt: 2, applied: false },
  ])('finishes and releases only $case', async ({ status, attempt, applied }) => {
    const task = taskFactory({ status, attempt: 2, leaseExpiresAt: LEASE });
    const store = new InMemoryTaskStore([task]);
    const other = new InMemoryTaskStore([task]);

    const finished = await store.finish(task.taskId, attempt, { status: 'SUCCEEDED', result: 1 }, TEST_NOW, 99);
    const released = await other.release(task.taskId, attempt, ERROR, TEST_NOW);

    expect([finished, released]).toEqual([applied, applied]);
    if (applied) {
      expect(store.peek(task.taskId)).toMatchObject({ status: 'SUCCEEDED', result: 1, expiresAt: 99 });
      expect(store.peek(task.taskId)).not.toHaveProperty('leaseExpiresAt');
      expect(other.peek(task.taskId)).toMatchObject({ status: 'QUEUED', attempt: 2, lastError: ERROR });
      expect(other.peek(task.taskId)).not.toHaveProperty('leaseExpiresAt');
    } else {
      expect(store.peek(task.taskId)).toEqual(task);
      expect(other.peek(task.taskId)).toEqual(task);
    }
  });

  it.each([
    { status: 'QUEUED' as const, applied: true },
    { status: 'RUNNING' as const, applied: true },
    { status: 'SUCCEEDED' as const, applied: false },
  ])('fails an unfinished task whatever its attempt: $status → $applied', async ({ status, applied }) => {
    const task = taskFactory({ status, attempt: 3 });
    const store = new InMemoryTaskStore([task]);

    expect(await store.failUnfinished(task.taskId, ERROR, TEST_NOW, 99)).toBe(applied);

    expect(store.peek(task.taskId)?.status).toBe(applied ? 'FAILED' : status);
  });

  it.each([
    { case: 'QUEUED at attempt 0', task: { status: 'QUEUED' as const, attempt: 0 }, removed: true },
    { case: 'QUEUED for a retry', task: { status: 'QUEUED' as const, attempt: 1 }, removed: false },
    { case: 'RUNNING', task: { status: 'RUNNING' as const, attempt: 1 }, removed: false },
  ])('discards a task only if never claimed: $case', async ({ task: overrides, removed }) => {
    const task = taskFactory(overrides);
    const store = new InMemoryTaskStore([task]);

    await store.discard(task.taskId);

    expect(store.peek(task.taskId) === undefined).toBe(removed);
  });

  it('throws an injected failure once, recording the call', async () => {
    const store = new InMemoryTaskStore();
    const failure = new Error('down');
    store.failNext('get', failure);

    await expect(store.get('a')).rejects.toBe(failure);
    await expect(store.get('a')).resolves.toBeUndefined();
    expect(store.calls).toEqual([
      { method: 'get', taskId: 'a' },
      { method: 'get', taskId: 'a' },
    ]);
  });

  it.each([
    {
      status: 'QUEUED' as const,
      after: { status: 'CANCELLED', cancelRequested: true, finishedAt: TEST_NOW.toISOString() },
    },
    { status: 'RUNNING' as const, after: { status: 'RUNNING', cancelRequested: true } },
    { status: 'SUCCEEDED' as const, after: { status: 'SUCCEEDED' } },
  ])('cancels a $status task of its owner', async ({ status, after }) => {
    const task = taskFactory({ status });
    const store = new InMemoryTaskStore([task]);

    const result = await store.cancel(task.taskId, TEST_OWNER, TEST_NOW, 99);

    expect(result).toMatchObject(after);
    expect(store.peek(task.taskId)).toEqual(result);
  });

  it('does not cancel another owner\u2019s task, and does not reveal it', async () => {
    const task = taskFactory({ ownerId: OTHER_OWNER });
    const store = new InMemoryTaskStore([task]);

    expect(await store.cancel(task.taskId, TEST_OWNER, TEST_NOW, 99)).toBeUndefined();
    expect(store.peek(task.taskId)).toEqual(task);
  });

  it('lists an owner\u2019s live tasks newest first, a page of `limit` reads at a time', async () => {
    const at = (minute: number) => `2026-11-02T10:0${minute}:00.000Z`;
    const tasks = [
      taskFactory({ taskId: 'a', createdAt: at(1) }),
      taskFactory({ taskId: 'b', createdAt: at(2), expiresAt: 1 }),
      taskFactory({ taskId: 'c', createdAt: at(3) }),
      taskFactory({ taskId: 'd', createdAt: at(4), ownerId: OTHER_OWNER }),
      taskFactory({ taskId: 'e', createdAt: at(5) }),
    ];
    const store = new InMemoryTaskStore(tasks);
    const nowSeconds = Math.floor(TEST_NOW.getTime() / 1000);

    const first = await store.listByOwner(TEST_OWNER, { limit: 2, nowSeconds });
    const second = await store.listByOwner(TEST_OWNER, { limit: 2, nowSeconds, cursor: first.cursor });
    const third = await store.listByOwner(TEST_OWNER, { limit: 2, nowSeconds, cursor: second.cursor });

    expect(first.tasks.map((task) => task.taskId)).toEqual(['e', 'c']);
    expect(second.tasks.map((task) => task.taskId)).toEqual(['a']);
    expect(second.cursor).toBeDefined();
    expect(third).toEqual({ tasks: [] });
  });
});
