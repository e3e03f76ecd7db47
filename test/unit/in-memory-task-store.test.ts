import { describe, expect, it } from 'vitest';
import type { Task } from '../../shared/task.js';
import { OTHER_OWNER, TEST_OWNER, taskFactory } from '../support/factories.js';
import { TEST_NOW } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

// The unit suites trust this fake to behave like DynamoTaskStore: test/adapters/task-store-contract.test.ts
// holds both to one contract; these tests pin what only the fake has (copies, injected failures) and a
// table of claim conditions.
const NOW_MS = TEST_NOW.getTime();
const LEASE = NOW_MS + 60_000;

describe('InMemoryTaskStore', () => {
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
        claimedFrom: task.status,
      };
      expect(result.task).toMatchObject(expected);
      expect(store.peek(task.taskId)).toEqual(result.task);
    } else {
      expect(result.task).toEqual(task);
      expect(store.peek(task.taskId)).toEqual(task);
    }
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
