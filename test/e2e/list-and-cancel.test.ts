import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { call, callerOwnerId, listNewest, submit, type TaskBody, waitForTask } from './api-client.js';

const cursorFor = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');

interface Listing {
  tasks: TaskBody[];
  nextCursor?: string;
}

describe('listing tasks', () => {
  it('pages through the caller’s tasks newest first without repeats', async () => {
    const older = await submit({ type: 'echo', payload: 'older' });
    const newer = await submit({ type: 'echo', payload: 'newer' });

    const first = await call<Listing>('GET', '/tasks?limit=1');
    const second = await call<Listing>('GET', `/tasks?limit=1&cursor=${first.body.nextCursor}`);

    expect(first.status).toBe(200);
    expect(first.body.tasks).toHaveLength(1);
    expect(second.body.tasks).toHaveLength(1);
    const ids = [...first.body.tasks, ...second.body.tasks].map((t) => t.taskId);
    expect(new Set(ids).size).toBe(2);
    // Other tests submit concurrently, so only the relative order of ours is certain.
    const order = (await listNewest()).map((t) => t.taskId);
    expect(order.indexOf(newer.body.taskId)).toBeLessThan(order.indexOf(older.body.taskId));
  });

  it('filters by status', async () => {
    const { body } = await submit({ type: 'echo', payload: 'filtered' });
    await waitForTask(body.taskId);

    const listed = await listNewest('&status=SUCCEEDED');

    expect(listed.map((t) => t.taskId)).toContain(body.taskId);
    expect(listed.every((t) => t.status === 'SUCCEEDED')).toBe(true);
  });

  it.each([
    ['an unknown status', '?status=DONE', 'InvalidQuery'],
    ['a limit over 50', '?limit=51', 'InvalidQuery'],
    ['an unknown parameter', '?owner=someone', 'InvalidQuery'],
    ['a forged cursor', `?cursor=${Buffer.from('{"ownerId":"someone-else"}').toString('base64url')}`, 'InvalidCursor'],
    // The caller's own owner id and a key DynamoDB would reject: once a 500.
    [
      'a malformed cursor with the caller’s owner id',
      () => `?cursor=${cursorFor({ ownerId: callerOwnerId() })}`,
      'InvalidCursor',
    ],
  ])('answers 400 for %s', async (_case, query, code) => {
    const response = await call('GET', `/tasks${typeof query === 'function' ? query() : query}`);

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code } });
  });
});

describe('cancelling tasks', () => {
  it('cancels a queued task at once, and the worker never runs it', async () => {
    const { body } = await submit({ type: 'echo', payload: 'never', delaySeconds: 1 });

    const cancelled = await call<TaskBody>('DELETE', `/tasks/${body.taskId}`);
    await sleep(1_500);

    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('CANCELLED');
    expect(await waitForTask(body.taskId)).toMatchObject({ status: 'CANCELLED', attempts: 0 });
  });

  it('asks a running task to stop, and it ends CANCELLED', async () => {
    const { body } = await submit({ type: 'sleep', payload: { ms: 1_800 } });
    await waitForTask(body.taskId, { until: (t) => t.status === 'RUNNING' });

    const requested = await call<TaskBody & { cancelRequested?: boolean }>('DELETE', `/tasks/${body.taskId}`);

    expect(requested.status).toBe(202);
    expect(requested.body).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    expect(await waitForTask(body.taskId)).toMatchObject({ status: 'CANCELLED', attempts: 1 });
  });

  it('is idempotent on a cancelled task and refuses a finished one with 409', async () => {
    const queued = await submit({ type: 'echo', payload: 1, delaySeconds: 5 });
    const done = await submit({ type: 'echo', payload: 2 });
    await call('DELETE', `/tasks/${queued.body.taskId}`);
    await waitForTask(done.body.taskId);

    const again = await call('DELETE', `/tasks/${queued.body.taskId}`);
    const finished = await call('DELETE', `/tasks/${done.body.taskId}`);

    expect(again.status).toBe(200);
    expect(finished.status).toBe(409);
    expect(finished.body).toMatchObject({ error: { code: 'Conflict' } });
  });

  it('answers 404 for an unknown task', async () => {
    expect((await call('DELETE', '/tasks/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
