import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { type SubmitTaskDeps, submitTask, taskIdFromKey } from '../../functions/api/submit-task.js';
import { defineTask, type TaskRegistry } from '../../functions/tasks/define-task.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { canonicalJson, sha256Hex } from '../../shared/canonical-json.js';
import { ConflictError, DependencyUnavailableError, ValidationError } from '../../shared/errors.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const OWNER = 'jwt:alice';

function setup(overrides: Partial<SubmitTaskDeps> = {}) {
  const store = new InMemoryTaskStore();
  const queue = new FakeTaskQueue();
  const clock = new FakeClock();
  const log = new RecordingLog();
  const deps: SubmitTaskDeps = {
    store,
    queue,
    registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
    clock: clock.now,
    log,
    defaultMaxAttempts: 3,
    ttlDays: 7,
    ...overrides,
  };
  return { store, queue, clock, log, deps };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('submitTask', () => {
  it('records the task QUEUED at attempt 0, then enqueues its id and type with the delay', async () => {
    const { store, queue, clock, deps } = setup({ newTaskId: () => 'task-1' });
    const create = vi.spyOn(store, 'create');
    const enqueue = vi.spyOn(queue, 'enqueue');
    const payload = { b: [1, 2], a: 'x' };

    const task = (await submitTask({ ownerId: OWNER, type: 'echo', payload, delaySeconds: 30 }, deps)).task;

    expect(task).toEqual({
      taskId: 'task-1',
      ownerId: OWNER,
      type: 'echo',
      status: 'QUEUED',
      lane: 'default',
      priority: 'normal',
      payload,
      payloadHash: sha256Hex(canonicalJson({ type: 'echo', payload, delaySeconds: 30 })),
      delaySeconds: 30,
      attempt: 0,
      maxAttempts: 3,
      createdAt: clock.now().toISOString(),
      updatedAt: clock.now().toISOString(),
      expiresAt: clock.epochSeconds + 7 * 86_400,
      // A duplicate or re-sent message waits for the rest of the delay.
      runAtMs: clock.epochMs + 30_000,
      lastWriteId: expect.any(String),
    });
    expect(store.peek('task-1')).toEqual(task);
    expect(queue.enqueued).toEqual([
      {
        message: { taskId: 'task-1', type: 'echo', lane: 'default', priority: 'normal' },
        options: { delaySeconds: 30 },
      },
    ]);
    expect(create.mock.invocationCallOrder[0]).toBeLessThan(enqueue.mock.invocationCallOrder[0] ?? 0);
  });

  it("records the owner's group and sends it with the message, for fair queues", async () => {
    const { store, queue, deps } = setup({ newTaskId: () => 'task-1', ownerGroup: (owner) => `group-of-${owner}` });

    await submitTask({ ownerId: OWNER, type: 'echo', payload: 1 }, deps);

    expect(store.peek('task-1')?.ownerGroup).toBe(`group-of-${OWNER}`);
    expect(queue.enqueued.map((call) => call.message)).toEqual([
      { taskId: 'task-1', type: 'echo', lane: 'default', priority: 'normal', group: `group-of-${OWNER}` },
    ]);
  });

  it("sends an idempotent replay's message again with the owner's group", async () => {
    const { queue, deps } = setup({ ownerGroup: () => 'group-a' });
    const input = { ownerId: OWNER, type: 'echo', payload: 1, idempotencyKey: 'k' };
    await submitTask(input, deps);

    await submitTask(input, deps);

    expect(queue.enqueued.map((call) => call.message.group)).toEqual(['group-a', 'group-a']);
  });

  it('enqueues without a delay when none is asked for', async () => {
    const { queue, deps } = setup();

    await submitTask({ ownerId: OWNER, type: 'echo', payload: 1 }, deps);

    expect(queue.enqueued).toHaveLength(1);
    expect(queue.enqueued[0]?.options?.delaySeconds).toBeUndefined();
  });

  it('logs the submission with the task id, never the owner (the API handler adds its keyed hash)', async () => {
    const { log, deps } = setup({ newTaskId: () => 'task-1' });

    await submitTask({ ownerId: OWNER, type: 'echo', payload: {} }, deps);

    expect(log.at('info')).toContainEqual({
      level: 'info',
      message: 'task submitted',
      data: { taskId: 'task-1', type: 'echo', attempt: 0 },
    });
    expect(JSON.stringify(log.entries)).not.toContain(OWNER);
  });

  it('rejects an unknown type with UnknownTaskType, listing the known types, and writes nothing', async () => {
    const { store, queue, deps } = setup();

    const error = await rejectionOf(submitTask({ ownerId: OWNER, type: 'nope', payload: {} }, deps));

    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      code: 'UnknownTaskType',
      details: [{ path: 'type', message: 'must be one of: echo, sleep, longSleep' }],
    });
    expect(store.calls).toEqual([]);
    expect(queue.enqueued).toEqual([]);
  });

  it.each([
    { case: 'a wrong type', payload: { ms: 'soon' }, paths: ['payload.ms'] },
    { case: 'a missing field', payload: {}, paths: ['payload.ms'] },
    { case: 'a value out of range', payload: { ms: -1 }, paths: ['payload.ms'] },
    { case: 'an extra field', payload: { ms: 1, extra: true }, paths: ['payload'] },
    { case: 'a non-object', payload: null, paths: ['payload'] },
  ])('rejects a payload with $case as InvalidPayload with details', async ({ payload, paths }) => {
    const { store, queue, deps } = setup();

    const error = await rejectionOf(submitTask({ ownerId: OWNER, type: 'sleep', payload }, deps));

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('InvalidPayload');
    expect((error as ValidationError).details.map((detail) => detail.path)).toEqual(paths);
    expect(store.calls).toEqual([]);
    expect(queue.enqueued).toEqual([]);
  });

  it.each([
    { case: 'the type sets maxAttempts', maxAttempts: 7, expected: 7 },
    { case: 'the type leaves it out', maxAttempts: undefined, expected: 5 },
  ])('takes maxAttempts from the definition or the default when $case', async ({ maxAttempts, expected }) => {
    const registry: TaskRegistry = new Map([
      ['custom', defineTask({ payload: z.unknown(), maxAttempts, run: async () => null })],
    ]);
    const { deps } = setup({ registry, defaultMaxAttempts: 5 });

    const task = (await submitTask({ ownerId: OWNER, type: 'custom', payload: {} }, deps)).task;

    expect(task.maxAttempts).toBe(expected);
  });

  it.each([1, 30])('expires %i days after submission, in whole epoch seconds', async (ttlDays) => {
    const { clock, deps } = setup({ ttlDays });

    const task = (await submitTask({ ownerId: OWNER, type: 'echo', payload: {} }, deps)).task;

    expect(task.expiresAt).toBe(Math.floor(clock.epochMs / 1000) + ttlDays * 86_400);
  });

  it('gives payloads that differ only in key order the same hash', async () => {
    const { deps } = setup();

    const first = (await submitTask({ ownerId: OWNER, type: 'echo', payload: { a: 1, b: { c: 2, d: 3 } } }, deps)).task;
    const second = (await submitTask({ ownerId: OWNER, type: 'echo', payload: { b: { d: 3, c: 2 }, a: 1 } }, deps))
      .task;

    expect(first.payloadHash).toBe(second.payloadHash);
    expect(first.payloadHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('discards the task record when the enqueue fails, and rethrows the enqueue error', async () => {
    const { store, queue, deps } = setup({ newTaskId: () => 'task-1' });
    const enqueueError = new DependencyUnavailableError('task queue');
    queue.failNext('enqueue', enqueueError);

    const error = await rejectionOf(submitTask({ ownerId: OWNER, type: 'echo', payload: {} }, deps));

    expect(error).toBe(enqueueError);
    expect(store.calls.map((call) => call.method)).toEqual(['create', 'discard']);
    expect(store.peek('task-1')).toBeUndefined();
    expect(queue.enqueued).toEqual([]);
  });

  it('logs a failed discard and still throws the enqueue error', async () => {
    const { store, queue, log, deps } = setup({ newTaskId: () => 'task-1' });
    const enqueueError = new DependencyUnavailableError('task queue');
    const discardError = new DependencyUnavailableError('task table');
    queue.failNext('enqueue', enqueueError);
    store.failNext('discard', discardError);

    const error = await rejectionOf(submitTask({ ownerId: OWNER, type: 'echo', payload: {} }, deps));

    expect(error).toBe(enqueueError);
    expect(log.at('error')).toEqual([
      {
        level: 'error',
        message: 'could not discard a task whose submission failed; the recovery sweep will run it',
        data: { taskId: 'task-1', type: 'echo', attempt: 0, error: discardError },
      },
    ]);
    expect(store.peek('task-1')?.status).toBe('QUEUED');
  });

  it('enqueues nothing when the record cannot be written', async () => {
    const { store, queue, deps } = setup();
    const storeError = new DependencyUnavailableError('task table');
    store.failNext('create', storeError);

    const error = await rejectionOf(submitTask({ ownerId: OWNER, type: 'echo', payload: {} }, deps));

    expect(error).toBe(storeError);
    expect(queue.enqueued).toEqual([]);
  });

  it('refuses an id that is already taken, leaving the existing task alone', async () => {
    const { store, queue, deps } = setup({ newTaskId: () => 'task-1' });
    const existing = (await submitTask({ ownerId: OWNER, type: 'echo', payload: { first: true } }, deps)).task;

    const error = await rejectionOf(submitTask({ ownerId: 'jwt:mallory', type: 'echo', payload: {} }, deps));

    expect(error).toBeInstanceOf(ConflictError);
    expect(store.peek('task-1')).toEqual(existing);
    expect(queue.enqueued).toHaveLength(1);
  });

  it('gives each task a fresh UUID v4 by default', async () => {
    const { deps } = setup();

    const first = (await submitTask({ ownerId: OWNER, type: 'echo', payload: {} }, deps)).task;
    const second = (await submitTask({ ownerId: OWNER, type: 'echo', payload: {} }, deps)).task;

    expect(first.taskId).toMatch(UUID_V4);
    expect(second.taskId).toMatch(UUID_V4);
    expect(second.taskId).not.toBe(first.taskId);
  });
});

describe('submitTask with an Idempotency-Key', () => {
  const submission = (overrides: Record<string, unknown> = {}) => ({
    ownerId: OWNER,
    type: 'echo',
    payload: { report: 42 },
    idempotencyKey: 'order-7',
    ...overrides,
  });

  it('returns the same task for the same owner, key and body, writing and enqueuing once', async () => {
    const { store, queue, clock, deps } = setup();
    const first = await submitTask(submission(), deps);
    await store.claim(first.task.taskId, clock.now(), clock.epochMs + 60_000);

    const replay = await submitTask(submission(), deps);

    expect(first.created).toBe(true);
    expect(replay).toMatchObject({ created: false, task: { taskId: first.task.taskId, status: 'RUNNING' } });
    expect(queue.enqueued).toHaveLength(1);
  });

  it('answers a reused key with a different body with IdempotencyKeyReused', async () => {
    const { deps } = setup();
    await submitTask(submission(), deps);

    const error = await rejectionOf(submitTask(submission({ payload: { report: 43 } }), deps));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'IdempotencyKeyReused' });
  });

  it('treats a different delay as a different request', async () => {
    const { deps } = setup();
    await submitTask(submission(), deps);

    await expect(submitTask(submission({ delaySeconds: 5 }), deps)).rejects.toBeInstanceOf(ConflictError);
  });

  it('keeps different owners apart even with the same key', async () => {
    const { deps } = setup();

    const alice = await submitTask(submission(), deps);
    const bob = await submitTask(submission({ ownerId: 'jwt:bob' }), deps);

    expect(bob.created).toBe(true);
    expect(bob.task.taskId).not.toBe(alice.task.taskId);
  });

  it('derives a stable UUID-shaped id from owner and key', async () => {
    const { deps } = setup();

    const { task } = await submitTask(submission(), deps);

    expect(task.taskId).toBe(taskIdFromKey(OWNER, 'order-7'));
    expect(task.taskId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sends the message again when replaying a task that was never claimed (its first send may be lost)', async () => {
    const { queue, deps } = setup();
    await submitTask(submission(), deps);

    await submitTask(submission(), deps);

    expect(queue.enqueued).toHaveLength(2);
  });

  it('lets a retry after a failed enqueue create and enqueue the task', async () => {
    const { store, queue, deps } = setup();
    queue.failNext('enqueue', new DependencyUnavailableError('task queue'));
    await rejectionOf(submitTask(submission(), deps));

    const retry = await submitTask(submission(), deps);

    expect(retry.created).toBe(true);
    expect(store.peek(retry.task.taskId)).toMatchObject({ status: 'QUEUED' });
    expect(queue.enqueued).toHaveLength(1);
  });

  it('starts a new task when the key’s earlier task has expired', async () => {
    const { clock, deps } = setup();
    const first = await submitTask(submission(), deps);
    clock.advance(8 * 86_400_000);

    const again = await submitTask(submission({ payload: 'other body is fine now' }), deps);

    expect(again).toMatchObject({
      created: true,
      task: { taskId: first.task.taskId, payload: 'other body is fine now' },
    });
  });
});
