import { describe, expect, it } from 'vitest';
import { verifyCallback } from '../../client/index.js';
import {
  callbackBackoffSeconds,
  type DeliverCallbackDeps,
  DeliveryNotDueError,
  deliverCallback,
} from '../../functions/callbacks/deliver-callback.js';
import { serializeCallbackMessage } from '../../shared/callbacks/callback-message.js';
import type { CallbackResponse } from '../../shared/callbacks/ports.js';
import { formatSecret, ownerSigningKey, ownerSigningKeys } from '../../shared/callbacks/signing.js';
import { deploymentKeyFrom } from '../../shared/deployment-key.js';
import { CALLBACK_COUNTS, CALLBACK_TIMINGS } from '../../shared/metric-names.js';
import type { Task } from '../../shared/task.js';
import { sqsRecordFactory, taskFactory } from '../support/factories.js';
import { FakeCallbackQueue, ScriptedSender } from '../support/fake-callbacks.js';
import { FakeClock, RecordingLog, TEST_NOW } from '../support/fakes.js';
import { InMemoryBlobStore } from '../support/in-memory-blob-store.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';
import { RecordingTaskMetrics } from '../support/recording-task-metrics.js';

const URL = 'https://hooks.example.com/offload';
const HOUR = 3_600_000;
const key = deploymentKeyFrom('k'.repeat(64));

function setup(task: Task, answers: CallbackResponse[] = []) {
  const store = new InMemoryTaskStore([task]);
  const queue = new FakeCallbackQueue();
  const sender = new ScriptedSender(answers);
  const clock = new FakeClock(new Date(Date.parse(task.finishedAt ?? TEST_NOW.toISOString()) + 50));
  const metrics = new RecordingTaskMetrics();
  const deps: DeliverCallbackDeps = {
    store,
    queue,
    sender,
    signingKeys: async (ownerId) => ownerSigningKeys(key, ownerId, [1]),
    clock: clock.now,
    log: new RecordingLog(),
    metrics,
    retryBaseDelaySeconds: 5,
    retryMaxDelaySeconds: 3_600,
    deliveryWindowSeconds: 24 * 3_600,
    random: () => 0.5,
  };
  const deliver = () => deliverCallback(sqsRecordFactory(serializeCallbackMessage({ taskId: task.taskId })), deps);
  return { store, queue, sender, clock, metrics, deps, deliver };
}

const finishedTask = (overrides: Partial<Task> = {}) =>
  taskFactory({
    status: 'SUCCEEDED',
    attempt: 1,
    result: { n: 1 },
    startedAt: TEST_NOW.toISOString(),
    finishedAt: TEST_NOW.toISOString(),
    callback: { url: URL },
    ...overrides,
  });

describe('deliverCallback', () => {
  it('links a result kept in the task data bucket as GET /tasks/{id} does: a fresh resultUrl, no result', async () => {
    const resultRef = { key: 'owner-hash/t/1/result.json', size: 5_000 };
    const task = finishedTask({ result: undefined, resultRef });
    const { sender, deps, clock } = setup(task);
    const blobs = new InMemoryBlobStore(() => clock.epochMs);
    const limits = {
      inlineMaxBytes: 1_024,
      maxObjectBytes: 1e8,
      uploadUrlSeconds: 300,
      downloadUrlSeconds: 300,
      maxArtifacts: 100,
    };

    await deliverCallback(sqsRecordFactory(serializeCallbackMessage({ taskId: task.taskId })), {
      ...deps,
      taskData: { blobs, limits },
    });

    const { data } = JSON.parse(sender.requests[0]?.body ?? '{}');
    expect(data.result).toBeUndefined();
    expect(data.resultUrl).toBe(await blobs.presignGet(resultRef.key, { expiresInSeconds: 300 }));
  });

  it('POSTs the signed event and records it DELIVERED, with its latency', async () => {
    const task = finishedTask();
    const { store, sender, metrics, deliver, queue, clock } = setup(task);

    await deliver();

    const [request] = sender.requests;
    expect(request?.url).toBe(URL);
    const event = await verifyCallback(
      request?.headers ?? {},
      request?.body ?? '',
      formatSecret(ownerSigningKey(key, task.ownerId, 1)),
      {
        now: () => clock.epochMs,
      },
    );
    expect(event).toMatchObject({ type: 'task.succeeded', data: { taskId: task.taskId, result: { n: 1 } } });
    expect(store.peek(task.taskId)?.callback).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatusCode: 204 });
    expect(metrics.events).toEqual([
      { name: CALLBACK_COUNTS.delivered, type: 'echo', value: 1 },
      { name: CALLBACK_TIMINGS.latencyMs, type: 'echo', value: 50 },
    ]);
    expect(queue.enqueued).toEqual([]);
  });

  it.each([
    ['a 500', { kind: 'response', statusCode: 500 } as const, 500],
    ['a redirect (not followed)', { kind: 'response', statusCode: 302 } as const, 302],
    ['a timeout', { kind: 'error', reason: 'no answer within 10000 ms' } as const, undefined],
    ['a refused address', { kind: 'error', reason: 'refused: not public' } as const, undefined],
  ])('retries after %s: records the attempt and sends the next as a delayed message', async (_case, answer, code) => {
    const task = finishedTask();
    const { store, queue, metrics, clock, deliver } = setup(task, [answer]);

    await deliver();

    const delay = callbackBackoffSeconds(1, {
      retryBaseDelaySeconds: 5,
      retryMaxDelaySeconds: 3_600,
      random: () => 0.5,
    });
    expect(store.peek(task.taskId)?.callback).toEqual({
      url: URL,
      eventAt: task.finishedAt,
      status: 'PENDING',
      attempts: 1,
      ...(code !== undefined && { lastStatusCode: code }),
      nextAttemptAt: clock.epochMs + delay * 1000,
    });
    expect(queue.enqueued).toEqual([{ message: { taskId: task.taskId }, delaySeconds: delay }]);
    expect(metrics.names).toEqual([CALLBACK_COUNTS.retried]);
  });

  it('waits, without calling, for an attempt that is not due yet (a backoff longer than SQS’s 15-minute delay)', async () => {
    const notBefore = Date.parse(TEST_NOW.toISOString()) + 2 * HOUR + 50;
    const task = finishedTask({
      callback: { url: URL, eventAt: TEST_NOW.toISOString(), status: 'PENDING', attempts: 1, nextAttemptAt: notBefore },
    });
    const { sender, queue, deliver } = setup(task);

    await expect(deliver()).rejects.toBeInstanceOf(DeliveryNotDueError);

    expect(queue.retries).toEqual([{ receiptHandle: expect.any(String), delaySeconds: 2 * 3_600 }]);
    expect(sender.requests).toEqual([]);
  });

  it('stops at 410 Gone: FAILED after one attempt, nothing more sent', async () => {
    const task = finishedTask();
    const { store, queue, metrics, deliver } = setup(task, [{ kind: 'response', statusCode: 410 }]);

    await deliver();

    expect(store.peek(task.taskId)?.callback).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: 410 });
    expect(queue.enqueued).toEqual([]);
    expect(metrics.names).toEqual([CALLBACK_COUNTS.failed]);
  });

  it('fails a callback whose window has ended, without calling the receiver', async () => {
    const task = finishedTask();
    const { store, sender, clock, deliver } = setup(task);
    clock.advance(24 * HOUR);

    await deliver();

    expect(sender.requests).toEqual([]);
    expect(store.peek(task.taskId)?.callback).toMatchObject({ status: 'FAILED', attempts: 0 });
  });

  it('makes the last attempt at the end of the window, then fails', async () => {
    const task = finishedTask();
    const { store, clock, queue, deliver } = setup(task, [
      { kind: 'response', statusCode: 500 },
      { kind: 'response', statusCode: 500 },
    ]);
    clock.advance(24 * HOUR - 1_000);

    await deliver();
    expect(store.peek(task.taskId)?.callback).toMatchObject({
      status: 'PENDING',
      nextAttemptAt: Date.parse(task.finishedAt ?? '') + 24 * HOUR,
    });
    expect(queue.enqueued[0]?.delaySeconds).toBe(1);

    clock.advance(1_000);
    await deliver();
    expect(store.peek(task.taskId)?.callback).toMatchObject({ status: 'FAILED', attempts: 2, lastStatusCode: 500 });
  });

  it.each([
    [
      'a delivered callback',
      finishedTask({ callback: { url: URL, eventAt: TEST_NOW.toISOString(), status: 'DELIVERED', attempts: 1 } }),
    ],
    ['a task without a callback', finishedTask({ callback: undefined })],
    ['an unfinished task', finishedTask({ status: 'RUNNING', finishedAt: undefined })],
  ])('drops the message of %s without calling anyone', async (_case, task) => {
    const { sender, queue, deliver } = setup(task);

    await deliver();

    expect(sender.requests).toEqual([]);
    expect(queue.enqueued).toEqual([]);
  });

  it('lets the first of two deliveries of one attempt record it; the second sends no retry', async () => {
    const task = finishedTask();
    const { store, queue, deps } = setup(task, [
      { kind: 'response', statusCode: 500 },
      { kind: 'response', statusCode: 500 },
    ]);
    const record = sqsRecordFactory(serializeCallbackMessage({ taskId: task.taskId }));
    const slowStore = Object.create(store) as InMemoryTaskStore;
    // Both read the task before either records: a duplicate message delivered at the same time.
    const seen = store.peek(task.taskId);
    slowStore.get = async () => seen;

    await deliverCallback(record, deps);
    await deliverCallback(record, { ...deps, store: slowStore });

    expect(store.peek(task.taskId)?.callback).toMatchObject({ attempts: 1 });
    expect(queue.enqueued).toHaveLength(1);
  });

  it('backs off exponentially with equal jitter, capped', () => {
    const at = (attempt: number, random: number) =>
      callbackBackoffSeconds(attempt, { retryBaseDelaySeconds: 5, retryMaxDelaySeconds: 3_600, random: () => random });

    expect([1, 2, 3, 4].map((attempt) => at(attempt, 0))).toEqual([3, 5, 10, 20]);
    expect([1, 2, 3, 4].map((attempt) => at(attempt, 1))).toEqual([5, 10, 20, 40]);
    expect(at(20, 0)).toBe(1_800);
    expect(at(20, 1)).toBe(3_600);
  });

  it('drops a message that is not offload’s', async () => {
    const { deps, sender } = setup(finishedTask());
    await deliverCallback(sqsRecordFactory('not json'), deps);
    expect(sender.requests).toEqual([]);
  });
});
