import { describe, expect, it } from 'vitest';
import { type SubmitTaskDeps, submitTask } from '../../functions/api/submit-task.js';
import { defineTask } from '../../functions/tasks/define-task.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { canonicalJson, sha256Hex } from '../../shared/canonical-json.js';
import { ConflictError, ValidationError } from '../../shared/errors.js';
import * as z from '../../shared/zod.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const OWNER = 'jwt:alice';

const taskTypes = {
  ...demoTaskTypes,
  render: defineTask({ payload: z.object({}), lane: 'long', run: async () => 'done' }),
  orphan: defineTask({ payload: z.object({}), lane: 'gone', run: async () => 'done' }),
};

function setup(overrides: Partial<SubmitTaskDeps> = {}) {
  const store = new InMemoryTaskStore();
  const queue = new FakeTaskQueue();
  const deps: SubmitTaskDeps = {
    store,
    queue,
    registry: createTaskRegistry({ tasks: taskTypes }),
    clock: new FakeClock().now,
    log: new RecordingLog(),
    defaultMaxAttempts: 3,
    ttlDays: 7,
    lanes: ['default', 'long'],
    ...overrides,
  };
  return { store, queue, deps };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('submitTask: lanes and priorities', () => {
  it.each([
    ['a type that names no lane', { type: 'echo' }, 'default', 'normal'],
    ['a type that names its lane', { type: 'render' }, 'long', 'normal'],
    ['a high-priority task', { type: 'echo', priority: 'high' as const }, 'default', 'high'],
    ['a request that names another lane', { type: 'echo', lane: 'long' }, 'long', 'normal'],
    ['a high-priority task of a lane', { type: 'render', priority: 'high' as const }, 'long', 'high'],
  ])('stores %s with its lane and priority, and sends its message there', async (_case, request, lane, priority) => {
    const { store, queue, deps } = setup();

    const { task } = await submitTask({ ownerId: OWNER, payload: {}, ...request }, deps);

    expect(store.peek(task.taskId)).toMatchObject({ lane, priority });
    expect(queue.enqueued.map((call) => call.message)).toEqual([
      { taskId: task.taskId, type: request.type, lane, priority },
    ]);
  });

  it.each([
    ['a lane the request names', { type: 'echo', lane: 'gpu' }, 'lane'],
    ['the lane of a type the deployment has no lane for', { type: 'orphan' }, 'type'],
  ])('rejects %s with UnknownLane, naming the lanes, and records nothing', async (_case, request, path) => {
    const { store, queue, deps } = setup();

    const error = await rejectionOf(submitTask({ ownerId: OWNER, payload: {}, ...request }, deps));

    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'UnknownLane', details: [{ path, message: 'must be one of: default, long' }] });
    expect(store.size).toBe(0);
    expect(queue.enqueued).toEqual([]);
  });

  it('knows only the default lane when the deployment names none', async () => {
    const { deps } = setup({ lanes: undefined });

    const error = await rejectionOf(submitTask({ ownerId: OWNER, type: 'render', payload: {} }, deps));

    expect(error).toMatchObject({ code: 'UnknownLane' });
  });

  it('hashes a default-lane, normal-priority body as before lanes existed, so an older key still replays', async () => {
    const { deps } = setup();
    const payload = { n: 1 };

    const { task } = await submitTask({ ownerId: OWNER, type: 'echo', payload, idempotencyKey: 'k' }, deps);

    expect(task.payloadHash).toBe(sha256Hex(canonicalJson({ type: 'echo', payload, delaySeconds: 0 })));
  });

  it.each([
    ['priority', { priority: 'high' as const }],
    ['lane', { lane: 'long' }],
  ])('treats a replay with another %s as another request (IdempotencyKeyReused)', async (_case, change) => {
    const { deps } = setup();
    const first = { ownerId: OWNER, type: 'echo', payload: { n: 1 }, idempotencyKey: 'order-7' };
    await submitTask(first, deps);

    const error = await rejectionOf(submitTask({ ...first, ...change }, deps));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'IdempotencyKeyReused' });
  });

  it('sends a replayed, never-claimed task again to its own lane and priority', async () => {
    const { queue, deps } = setup();
    const request = { ownerId: OWNER, type: 'render', payload: {}, priority: 'high' as const, idempotencyKey: 'r' };
    await submitTask(request, deps);

    const replay = await submitTask(request, deps);

    expect(replay.created).toBe(false);
    expect(queue.enqueued.map((call) => call.message)).toEqual([
      { taskId: replay.task.taskId, type: 'render', lane: 'long', priority: 'high' },
      { taskId: replay.task.taskId, type: 'render', lane: 'long', priority: 'high' },
    ]);
  });
});
