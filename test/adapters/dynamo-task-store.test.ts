import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { ConflictError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';

let aws: EmulatedAws;
let store: DynamoTaskStore;
const t0 = new Date('2026-11-26T10:00:00.000Z');
const later = (ms: number) => new Date(t0.getTime() + ms);

let sequence = 0;
const newTask = (overrides: Partial<Task> = {}): Task => ({
  taskId: `00000000-0000-4000-8000-${String(++sequence).padStart(12, '0')}`,
  ownerId: 'owner-a',
  type: 'echo',
  status: 'QUEUED',
  payload: { n: sequence },
  payloadHash: 'hash',
  attempt: 0,
  maxAttempts: 3,
  createdAt: t0.toISOString(),
  updatedAt: t0.toISOString(),
  expiresAt: Math.floor(t0.getTime() / 1000) + 86_400,
  ...overrides,
});

beforeAll(async () => {
  aws = await startEmulatedAws();
  store = new DynamoTaskStore(aws.documents, aws.resources.tableName);
});
afterAll(() => aws.stop());

describe('DynamoTaskStore against dynalite', () => {
  let task: Task;
  beforeEach(async () => {
    task = newTask();
    await store.create(task, 0);
  });

  it('reads back what it created', async () => {
    expect(await store.get(task.taskId)).toEqual(task);
  });

  it('refuses to create a task whose id exists', async () => {
    await expect(store.create({ ...task, payload: 'other' }, 0)).rejects.toBeInstanceOf(ConflictError);
    expect((await store.get(task.taskId))?.payload).toEqual(task.payload);
  });

  it('claims a QUEUED task once: RUNNING, attempt 1, lease set', async () => {
    const first = await store.claim(task.taskId, later(1), later(60_000).getTime());
    const second = await store.claim(task.taskId, later(2), later(60_000).getTime());

    expect(first).toMatchObject({ claimed: true, task: { status: 'RUNNING', attempt: 1 } });
    expect(first.claimed && first.task.leaseExpiresAt).toBe(later(60_000).getTime());
    expect(second).toMatchObject({ claimed: false, task: { status: 'RUNNING', attempt: 1 } });
  });

  it('lets another worker take over a RUNNING task once its lease expired', async () => {
    await store.claim(task.taskId, later(0), later(1_000).getTime());

    const takeover = await store.claim(task.taskId, later(1_001), later(61_000).getTime());

    expect(takeover).toMatchObject({ claimed: true, task: { status: 'RUNNING', attempt: 2 } });
  });

  it('reports an unknown task as not claimed and undefined', async () => {
    const result = await store.claim('00000000-0000-4000-8000-ffffffffffff', t0, later(1).getTime());

    expect(result).toEqual({ claimed: false, task: undefined });
  });

  it('finishes only the current attempt (fencing)', async () => {
    await store.claim(task.taskId, later(0), later(1_000).getTime());
    await store.claim(task.taskId, later(2_000), later(60_000).getTime());

    const stale = await store.finish(task.taskId, 1, { status: 'SUCCEEDED', result: 'late' }, later(3_000), 1);
    const current = await store.finish(task.taskId, 2, { status: 'SUCCEEDED', result: 'ok' }, later(3_000), 99);

    expect([stale, current]).toEqual([false, true]);
    const stored = await store.get(task.taskId);
    expect(stored).toMatchObject({ status: 'SUCCEEDED', result: 'ok', attempt: 2, expiresAt: 99 });
    expect(stored?.leaseExpiresAt).toBeUndefined();
  });

  it('records progress of the current attempt only, and returns the task with any cancel request', async () => {
    await store.claim(task.taskId, t0, later(1_000).getTime());
    await store.claim(task.taskId, later(2_000), later(60_000).getTime());
    await store.cancel(task.taskId, task.ownerId, later(2_500), 9);

    const stale = await store.progress(task.taskId, 1, { percent: 90 }, later(3_000));
    const current = await store.progress(task.taskId, 2, { percent: 40, message: 'half' }, later(3_000));

    expect(stale).toBeUndefined();
    expect(current).toMatchObject({ progress: { percent: 40, message: 'half' }, cancelRequested: true });
  });

  it('records a failure with its error', async () => {
    await store.claim(task.taskId, t0, later(1_000).getTime());

    await store.finish(task.taskId, 1, { status: 'FAILED', error: { code: 'Bad', message: 'no' } }, later(5), 9);

    expect(await store.get(task.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'Bad', message: 'no' } });
  });

  it('releases a RUNNING attempt back to QUEUED with its error, claimable again', async () => {
    await store.claim(task.taskId, t0, later(60_000).getTime());

    const released = await store.release(task.taskId, 1, { code: 'HandlerError', message: 'boom' }, later(10));
    const again = await store.claim(task.taskId, later(20), later(60_000).getTime());

    expect(released).toBe(true);
    expect(again).toMatchObject({ claimed: true, task: { attempt: 2, lastError: { code: 'HandlerError' } } });
  });

  it('fails an unfinished task but leaves a finished one alone', async () => {
    const finished = newTask();
    await store.create(finished, 0);
    await store.claim(finished.taskId, t0, later(1_000).getTime());
    await store.finish(finished.taskId, 1, { status: 'SUCCEEDED', result: 1 }, later(1), 9);
    const error = { code: 'DeadLettered', message: 'gone' };

    expect(await store.failUnfinished(task.taskId, error, later(5), 9)).toBe(true);
    expect(await store.failUnfinished(finished.taskId, error, later(5), 9)).toBe(false);
    expect(await store.get(task.taskId)).toMatchObject({ status: 'FAILED', error });
    expect(await store.get(finished.taskId)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('discards a never-claimed task but not a claimed one', async () => {
    const claimed = newTask();
    await store.create(claimed, 0);
    await store.claim(claimed.taskId, t0, later(1_000).getTime());

    await store.discard(task.taskId);
    await store.discard(claimed.taskId);

    expect(await store.get(task.taskId)).toBeUndefined();
    expect(await store.get(claimed.taskId)).toBeDefined();
  });
});

describe('DynamoTaskStore cancel and list against dynalite', () => {
  it('cancels a QUEUED task at once and flags a RUNNING one; leaves another owner’s alone', async () => {
    const queued = newTask();
    const running = newTask();
    await Promise.all([store.create(queued, 0), store.create(running, 0)]);
    await store.claim(running.taskId, t0, later(60_000).getTime());

    const a = await store.cancel(queued.taskId, 'owner-a', later(1), 42);
    const b = await store.cancel(running.taskId, 'owner-a', later(1), 42);
    const stranger = await store.cancel(newTask().taskId, 'owner-a', later(1), 42);
    const notMine = await store.cancel(running.taskId, 'owner-b', later(1), 42);

    expect(a).toMatchObject({ status: 'CANCELLED', expiresAt: 42 });
    expect(b).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    expect(stranger).toBeUndefined();
    expect(notMine).toBeUndefined();
  });

  it('lists an owner’s live tasks newest first, a page at a time, with a status filter', async () => {
    const owner = `lister-${sequence}`;
    const at = (minute: number) => new Date(t0.getTime() + minute * 60_000).toISOString();
    const tasks = [1, 2, 3].map((m) => newTask({ ownerId: owner, createdAt: at(m) }));
    const expired = newTask({ ownerId: owner, createdAt: at(4), expiresAt: 1 });
    for (const task of [...tasks, expired]) await store.create(task, 0);
    await store.claim(tasks[0]?.taskId ?? '', t0, later(60_000).getTime());
    const nowSeconds = Math.floor(t0.getTime() / 1000);

    const first = await store.listByOwner(owner, { limit: 2, nowSeconds });
    const rest = await store.listByOwner(owner, { limit: 2, nowSeconds, cursor: first.cursor });
    const running = await store.listByOwner(owner, { limit: 10, nowSeconds, status: 'RUNNING' });

    expect([...first.tasks, ...rest.tasks].map((t) => t.createdAt)).toEqual([at(3), at(2), at(1)]);
    expect(running.tasks.map((t) => t.taskId)).toEqual([tasks[0]?.taskId]);
  });

  it('lists summaries: every attribute a listing shows, neither payload nor result nor bookkeeping', async () => {
    const owner = `summarised-${sequence}`;
    const done = newTask({
      ownerId: owner,
      status: 'SUCCEEDED',
      attempt: 1,
      result: { r: 'RESULT' },
      idempotencyKey: 'key',
      startedAt: t0.toISOString(),
      finishedAt: t0.toISOString(),
      progress: { percent: 100 },
      lastError: { code: 'Flaky', message: 'once' },
    });
    await aws.documents.send(new PutCommand({ TableName: aws.resources.tableName, Item: done }));

    const { tasks } = await store.listByOwner(owner, { limit: 10, nowSeconds: 0 });

    const { payload: _p, result: _r, payloadHash: _h, idempotencyKey: _k, ...summary } = done;
    expect(tasks).toEqual([summary]);
  });
});
