import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineTask, type TaskContext, type TaskRegistry } from '../../functions/tasks/define-task.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { backoffSeconds, RetryLaterError, type RunTaskDeps, runTask } from '../../functions/worker/run-task.js';
import { PermanentError } from '../../shared/errors.js';
import { dynamoItemSize } from '../../shared/item-size.js';
import type { Task } from '../../shared/task.js';
import { sqsRecordFactory, sqsRecordFor, taskFactory } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

/** Plenty of time: the deadline signal fires remaining - 3 s after the start. */
const REMAINING_MS = 60_000;
const TTL_DAYS = 7;
const LEASE_GRACE_MS = 5_000;

/** A task type whose handler the test controls; by default it returns `{ ok: true }`. */
function spyTaskType(run: (payload: unknown, ctx: TaskContext) => Promise<unknown> = async () => ({ ok: true })) {
  const handler = vi.fn(run);
  const registry: TaskRegistry = new Map([['spy', defineTask({ payload: z.unknown(), run: handler })]]);
  return { handler, registry };
}

function setup(tasks: readonly Task[], overrides: Partial<RunTaskDeps> = {}) {
  const store = new InMemoryTaskStore(tasks);
  const queue = new FakeTaskQueue();
  const clock = new FakeClock();
  const log = new RecordingLog();
  const deps: RunTaskDeps = {
    store,
    queue,
    registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
    clock: clock.now,
    log,
    remainingTimeMs: () => REMAINING_MS,
    retryBaseDelaySeconds: 2,
    retryMaxDelaySeconds: 300,
    ttlDays: TTL_DAYS,
    maxResultBytes: 1024,
    leaseGraceMs: LEASE_GRACE_MS,
    random: () => 0.5,
    ...overrides,
  };
  return { store, queue, clock, log, deps };
}

describe('runTask', () => {
  it('runs a queued echo task and stores its result as SUCCEEDED at attempt 1', async () => {
    const task = taskFactory({ type: 'echo', payload: { hello: ['world', 1] } });
    const { store, queue, clock, deps } = setup([task]);

    await runTask(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toEqual({
      ...task,
      status: 'SUCCEEDED',
      attempt: 1,
      claimedFrom: 'QUEUED',
      result: { hello: ['world', 1] },
      startedAt: clock.now().toISOString(),
      updatedAt: clock.now().toISOString(),
      finishedAt: clock.now().toISOString(),
      expiresAt: clock.epochSeconds + TTL_DAYS * 86_400,
      lastWriteId: expect.any(String),
    });
    expect(queue.retries).toEqual([]);
  });

  it('passes the task id, the attempt and a live signal to the handler', async () => {
    const task = taskFactory({ type: 'spy', attempt: 1 });
    const { handler, registry } = spyTaskType();
    const { deps } = setup([task], { registry });

    await runTask(sqsRecordFor(task), deps);

    expect(handler).toHaveBeenCalledOnce();
    const [payload, ctx] = handler.mock.calls[0] ?? [];
    expect(payload).toEqual(task.payload);
    expect(ctx).toMatchObject({ taskId: task.taskId, attempt: 2 });
    expect(ctx?.signal.aborted).toBe(false);
  });

  it('stores a handler that returns nothing as a null result', async () => {
    const task = taskFactory({ type: 'spy' });
    const { registry } = spyTaskType(async () => undefined);
    const { store, deps } = setup([task], { registry });

    await runTask(sqsRecordFor(task), deps);

    const stored = store.peek(task.taskId);
    expect(stored?.status).toBe('SUCCEEDED');
    expect(stored?.result).toBeNull();
  });

  it.each(['SUCCEEDED', 'FAILED', 'CANCELLED'] as const)(
    'acknowledges a duplicate delivery of a %s task without running it',
    async (status) => {
      const task = taskFactory({ type: 'spy', status, attempt: 1, finishedAt: '2026-11-02T09:00:00.000Z' });
      const { handler, registry } = spyTaskType();
      const { store, log, deps } = setup([task], { registry });

      await runTask(sqsRecordFor(task), deps);

      expect(handler).not.toHaveBeenCalled();
      expect(store.peek(task.taskId)).toEqual(task);
      expect(log.at('info').map((entry) => entry.message)).toContain(
        'duplicate delivery of a finished task: acknowledged',
      );
    },
  );

  it('leaves a task running under a live lease alone and asks for redelivery when the lease ends', async () => {
    const clock = new FakeClock();
    const task = taskFactory({ type: 'spy', status: 'RUNNING', attempt: 1, leaseExpiresAt: clock.epochMs + 4_500 });
    const { handler, registry } = spyTaskType();
    const { store, queue, deps } = setup([task], { registry, clock: clock.now });

    await expect(runTask(sqsRecordFor(task), deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(handler).not.toHaveBeenCalled();
    expect(store.peek(task.taskId)).toEqual(task);
    expect(queue.retries.map((retry) => retry.delaySeconds)).toEqual([5]);
  });

  it('takes over a running task whose lease expired, as the next attempt', async () => {
    const clock = new FakeClock();
    const task = taskFactory({ type: 'spy', status: 'RUNNING', attempt: 1, leaseExpiresAt: clock.epochMs - 1 });
    const { handler, registry } = spyTaskType();
    const { store, deps } = setup([task], { registry, clock: clock.now });

    await runTask(sqsRecordFor(task), deps);

    expect(handler).toHaveBeenCalledOnce();
    expect(handler.mock.calls[0]?.[1].attempt).toBe(2);
    expect(store.peek(task.taskId)).toMatchObject({ status: 'SUCCEEDED', attempt: 2, result: { ok: true } });
  });

  it('holds the lease until the end of the invocation plus the grace while the handler runs', async () => {
    const task = taskFactory({ type: 'spy' });
    let leaseWhileRunning: number | undefined;
    const { store, clock, deps } = setup([task]);
    const { registry } = spyTaskType(async () => {
      leaseWhileRunning = store.peek(task.taskId)?.leaseExpiresAt;
      return null;
    });

    await runTask(sqsRecordFor(task), { ...deps, registry });

    // Nobody may take over before the invocation must have ended, even with clocks LEASE_GRACE_MS apart.
    expect(leaseWhileRunning).toBe(clock.epochMs + REMAINING_MS + LEASE_GRACE_MS);
    expect(store.peek(task.taskId)).not.toHaveProperty('leaseExpiresAt');
  });

  it('fails the task at once with the code of a PermanentError', async () => {
    const task = taskFactory({ type: 'spy' });
    const { registry } = spyTaskType(async () => {
      throw new PermanentError('CardDeclined', 'The card was declined.');
    });
    const { store, queue, deps } = setup([task], { registry });

    await runTask(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toMatchObject({
      status: 'FAILED',
      attempt: 1,
      error: { code: 'CardDeclined', message: 'The card was declined.' },
    });
    expect(queue.retries).toEqual([]);
  });

  it('fails the task at once for a PermanentError from another copy of the errors module', async () => {
    // What a task module sees through a second copy of offload: same class, another identity.
    const mark: unique symbol = Symbol.for('offload.PermanentError') as never;
    class OtherCopyPermanentError extends Error {
      readonly [mark] = true;
      constructor(
        readonly code: string,
        message: string,
      ) {
        super(message);
        this.name = 'PermanentError';
      }
    }
    const task = taskFactory({ type: 'spy' });
    const { registry } = spyTaskType(async () => {
      throw new OtherCopyPermanentError('CardDeclined', 'The card was declined.');
    });
    const { store, queue, deps } = setup([task], { registry });

    await runTask(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toMatchObject({ status: 'FAILED', attempt: 1, error: { code: 'CardDeclined' } });
    expect(queue.retries).toEqual([]);
  });

  it.each([
    { attemptBefore: 0, random: 0.5, delay: 1 },
    { attemptBefore: 1, random: 0.999, delay: 4 },
    { attemptBefore: 0, random: 0, delay: 0 },
  ])(
    'puts the task back QUEUED after a retryable error on attempt $attemptBefore + 1, with a $delay s backoff',
    async ({ attemptBefore, random, delay }) => {
      const task = taskFactory({ type: 'spy', attempt: attemptBefore, maxAttempts: 3 });
      const { registry } = spyTaskType(async () => {
        throw new Error('connection reset');
      });
      const { store, queue, clock, deps } = setup([task], { registry, random: () => random });
      const record = sqsRecordFor(task);

      await expect(runTask(record, deps)).rejects.toBeInstanceOf(RetryLaterError);

      const stored = store.peek(task.taskId);
      expect(stored).toMatchObject({
        status: 'QUEUED',
        attempt: attemptBefore + 1,
        lastError: { code: 'HandlerError', message: 'connection reset' },
        updatedAt: clock.now().toISOString(),
      });
      expect(stored).not.toHaveProperty('error');
      expect(stored).not.toHaveProperty('leaseExpiresAt');
      expect(queue.retries).toEqual([{ receiptHandle: record.receiptHandle, delaySeconds: delay }]);
      const ceiling = 2 * 2 ** attemptBefore;
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(ceiling);
    },
  );

  it('keeps the backoff within [0, base * 2^(attempt-1)] with the default random source', async () => {
    const task = taskFactory({ type: 'spy', attempt: 2, maxAttempts: 5 });
    const { registry } = spyTaskType(async () => {
      throw new Error('busy');
    });
    const { queue, deps } = setup([task], { registry, random: undefined });

    await expect(runTask(sqsRecordFor(task), deps)).rejects.toBeInstanceOf(RetryLaterError);

    const delay = queue.retries[0]?.delaySeconds;
    expect(Number.isInteger(delay)).toBe(true);
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThanOrEqual(2 * 2 ** 2);
  });

  it('fails the task with the error of its last attempt', async () => {
    const task = taskFactory({ type: 'spy', attempt: 2, maxAttempts: 3 });
    const { registry } = spyTaskType(async () => {
      throw new Error('still broken');
    });
    const { store, queue, deps } = setup([task], { registry });

    await runTask(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toMatchObject({
      status: 'FAILED',
      attempt: 3,
      error: { code: 'HandlerError', message: 'still broken' },
    });
    expect(queue.retries).toEqual([]);
  });

  it('truncates long error messages to 1,000 characters', async () => {
    const task = taskFactory({ type: 'spy', maxAttempts: 1 });
    const { registry } = spyTaskType(async () => {
      throw new Error('x'.repeat(5_000));
    });
    const { store, deps } = setup([task], { registry });

    await runTask(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)?.error?.message).toHaveLength(1_000);
  });

  it.each([
    { lastError: { code: 'HandlerError', message: 'boom' }, mentions: 'boom' },
    { lastError: undefined, mentions: 'none recorded' },
  ])(
    'fails a task claimed past its last attempt (crash loop) without running it, mentioning $mentions',
    async ({ lastError, mentions }) => {
      const clock = new FakeClock();
      const task = taskFactory({
        type: 'spy',
        status: 'RUNNING',
        attempt: 3,
        maxAttempts: 3,
        leaseExpiresAt: clock.epochMs - 1,
        ...(lastError && { lastError }),
      });
      const { handler, registry } = spyTaskType();
      const { store, queue, deps } = setup([task], { registry, clock: clock.now });

      await runTask(sqsRecordFor(task), deps);

      expect(handler).not.toHaveBeenCalled();
      const stored = store.peek(task.taskId);
      expect(stored).toMatchObject({ status: 'FAILED', attempt: 4, error: { code: 'AttemptsExhausted' } });
      expect(stored?.error?.message).toContain(mentions);
      expect(queue.retries).toEqual([]);
    },
  );

  it('asks a handler to stop at the deadline and retries the task with code Timeout', async () => {
    const task = taskFactory({ type: 'sleep', payload: { ms: 40_000 } });
    // A 20 ms invocation: the deadline signal fires within it, well before the 40 s sleep ends.
    const { store, queue, deps } = setup([task], { remainingTimeMs: () => 20 });
    const started = performance.now();

    await expect(runTask(sqsRecordFor(task), deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(store.peek(task.taskId)).toMatchObject({
      status: 'QUEUED',
      attempt: 1,
      lastError: { code: 'Timeout', message: 'The attempt ran past its deadline.' },
    });
    expect(queue.retries).toHaveLength(1);
  });

  it('counts the deadline from the claim: the time the slot and the claim took is not the handler’s', async () => {
    const task = taskFactory({ type: 'sleep', payload: { ms: 2_000 } });
    let reads = 0;
    // 60 s when the message arrived, 20 ms once the task is claimed (throttled calls spent the rest).
    const { store, deps } = setup([task], { remainingTimeMs: () => (reads++ === 0 ? 60_000 : 20) });

    await expect(runTask(sqsRecordFor(task), deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(store.peek(task.taskId)).toMatchObject({ status: 'QUEUED', lastError: { code: 'Timeout' } });
  });

  it('fails with Timeout when the deadline ends the last attempt', async () => {
    const task = taskFactory({ type: 'spy', maxAttempts: 1 });
    const { registry } = spyTaskType(
      (_payload, { signal }) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    );
    const { store, deps } = setup([task], { registry, remainingTimeMs: () => 20 });

    await runTask(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'Timeout' } });
  });

  it.each([
    { case: 'one byte over the limit', extra: 1, status: 'FAILED' },
    { case: 'exactly at the limit', extra: 0, status: 'SUCCEEDED' },
  ])('handles a result $case, counted as DynamoDB counts it ($status)', async ({ extra, status }) => {
    const payload = { text: 'x'.repeat(100), numbers: [-1, 2.5, 1e-7, 12_345] };
    const maxResultBytes = dynamoItemSize({ result: payload }) - extra;
    const task = taskFactory({ type: 'echo', payload });
    const { store, deps } = setup([task], { maxResultBytes });

    await runTask(sqsRecordFor(task), deps);

    const stored = store.peek(task.taskId);
    expect(stored?.status).toBe(status);
    if (status === 'FAILED') {
      expect(stored?.error?.code).toBe('ResultTooLarge');
      expect(stored).not.toHaveProperty('result');
    }
  });

  // The same result would fail to serialize on every attempt: retrying only burns time.
  it.each([
    { case: 'a BigInt', result: () => 1n },
    { case: 'a function', result: () => () => 1 },
  ])('fails a task whose result ($case) is not JSON at once, without retrying', async ({ result }) => {
    const task = taskFactory({ type: 'spy', maxAttempts: 3 });
    const { registry } = spyTaskType(async () => result());
    const { store, queue, deps } = setup([task], { registry });

    await runTask(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toMatchObject({ status: 'FAILED', attempt: 1 });
    expect(queue.retries).toEqual([]);
  });

  it('counts the payload against the item limit: a large payload leaves less room for the result', async () => {
    const task = taskFactory({ type: 'spy', payload: 'p'.repeat(300 * 1024) });
    const { registry } = spyTaskType(async () => 'r'.repeat(100 * 1024));
    const { store, deps } = setup([task], { registry, maxResultBytes: 256 * 1024 });

    await runTask(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'ResultTooLarge' } });
  });

  it.each([
    ['an integer DynamoDB cannot hold exactly', { n: 2 ** 60 }],
    ['a number too close to 0', { n: 1e-200 }],
  ])(
    'fails a result with %s as InvalidResult instead of retrying a write that cannot succeed',
    async (_case, result) => {
      const task = taskFactory({ type: 'spy' });
      const { registry } = spyTaskType(async () => result);
      const { store, queue, deps } = setup([task], { registry });

      await runTask(sqsRecordFor(task), deps);

      expect(store.peek(task.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'InvalidResult' } });
      expect(queue.retries).toEqual([]);
    },
  );

  it('fails a task whose type is no longer registered with UnknownTaskType', async () => {
    const task = taskFactory({ type: 'retired' });
    const { store, queue, deps } = setup([task]);

    await runTask(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toMatchObject({ status: 'FAILED', attempt: 1, error: { code: 'UnknownTaskType' } });
    expect(queue.retries).toEqual([]);
  });

  it('fails a task whose payload no longer matches its schema with InvalidPayload', async () => {
    const task = taskFactory({ type: 'sleep', payload: { ms: 'soon' } });
    const { store, deps } = setup([task]);

    await runTask(sqsRecordFor(task), deps);

    const stored = store.peek(task.taskId);
    expect(stored).toMatchObject({ status: 'FAILED', error: { code: 'InvalidPayload' } });
    expect(stored?.error?.message).toContain('ms');
  });

  it.each([
    { case: 'not JSON', body: 'hello' },
    { case: 'JSON null', body: 'null' },
    { case: 'no task id', body: '{"type":"echo"}' },
    { case: 'an empty task id', body: '{"taskId":"","type":"echo"}' },
    { case: 'a numeric task id', body: '{"taskId":42,"type":"echo"}' },
  ])('acknowledges and logs a message with $case, without touching the store', async ({ body }) => {
    const { store, log, deps } = setup([]);
    const record = sqsRecordFactory(body);

    await expect(runTask(record, deps)).resolves.toBeUndefined();

    expect(store.calls).toEqual([]);
    expect(log.at('error')).toEqual([
      { level: 'error', message: 'malformed task message: dropped', data: { messageId: record.messageId } },
    ]);
  });

  it('ends FAILED Expired a task whose message came after its time to live ran out', async () => {
    const { clock } = setup([]);
    const task = taskFactory({ expiresAt: clock.epochSeconds - 1 });
    const { store, log, deps } = setup([task]);

    await expect(runTask(sqsRecordFor(task), deps)).resolves.toBeUndefined();

    expect(store.peek(task.taskId)).toMatchObject({
      status: 'FAILED',
      attempt: 0,
      error: { code: 'Expired', message: expect.stringContaining('still QUEUED') },
      expiresAt: clock.epochSeconds + TTL_DAYS * 86_400,
    });
    expect(log.at('warn').map((line) => line.message)).toEqual(['task expired unfinished: ended']);
  });

  it('acknowledges a message for an unknown task and logs a warning', async () => {
    const { log, deps } = setup([]);
    const record = sqsRecordFor({ taskId: 'f47ac10b-58cc-4372-a567-0e02b2c3d479', type: 'echo' });

    await expect(runTask(record, deps)).resolves.toBeUndefined();

    expect(log.at('warn')).toEqual([
      {
        level: 'warn',
        message: 'message for an unknown or expired task: dropped',
        data: { taskId: 'f47ac10b-58cc-4372-a567-0e02b2c3d479', messageId: record.messageId },
      },
    ]);
  });

  it.each([
    { case: 'success', outcome: async () => ({ late: true }), warning: 'stale attempt: outcome not recorded' },
    {
      case: 'a retryable error',
      outcome: async () => {
        throw new Error('late failure');
      },
      warning: 'stale attempt: task changed while running',
    },
  ])('drops the $case of an attempt another worker took over, with a warning', async ({ outcome, warning }) => {
    const task = taskFactory({ type: 'spy' });
    const { store, queue, clock, log, deps } = setup([task]);
    const { registry } = spyTaskType(async () => {
      // Our lease (the invocation plus the grace) runs out mid-attempt and a second worker claims the task.
      clock.advance(REMAINING_MS + LEASE_GRACE_MS + 1);
      await store.claim(task.taskId, clock.now(), clock.epochMs + REMAINING_MS);
      return outcome();
    });

    await expect(runTask(sqsRecordFor(task), { ...deps, registry })).resolves.toBeUndefined();

    expect(store.peek(task.taskId)).toMatchObject({ status: 'RUNNING', attempt: 2 });
    expect(store.peek(task.taskId)).not.toHaveProperty('result');
    expect(queue.retries).toEqual([]);
    expect(log.at('warn')).toEqual([
      {
        level: 'warn',
        message: warning,
        data: { taskId: task.taskId, type: 'spy', attempt: 1, messageId: expect.any(String) },
      },
    ]);
  });

  it('lets a store failure at claim propagate and logs it, so the message is delivered again', async () => {
    const task = taskFactory();
    const { store, log, deps } = setup([task]);
    const unavailable = new Error('table unavailable');
    store.failNext('claim', unavailable);
    const record = sqsRecordFor(task);

    await expect(runTask(record, deps)).rejects.toBe(unavailable);

    expect(store.peek(task.taskId)).toEqual(task);
    expect(log.at('error')).toEqual([
      {
        level: 'error',
        message: 'task message failed: it will be delivered again',
        data: { messageId: record.messageId, error: unavailable },
      },
    ]);
  });

  it('logs error codes only: a handler’s message (which may hold its input) is stored with the task, not logged', async () => {
    const task = taskFactory({ type: 'spy', maxAttempts: 2 });
    const { registry } = spyTaskType(async () => {
      throw new Error('card 4111 1111 1111 1111 declined');
    });
    const { store, clock, log, deps } = setup([task], { registry });

    await expect(runTask(sqsRecordFor(task), deps)).rejects.toBeInstanceOf(RetryLaterError);
    clock.advance(10 * 60_000);
    await runTask(sqsRecordFor(task), deps);

    // The card number as written, not its digits alone: a random UUID in a log line may hold "4111".
    expect(JSON.stringify(log.entries)).not.toContain('4111 1111');
    expect(log.entries.map((entry) => entry.data.errorCode).filter(Boolean)).toEqual(['HandlerError', 'HandlerError']);
    expect(store.peek(task.taskId)?.error?.message).toContain('4111');
  });

  it('does not log a planned retry as an error', async () => {
    const task = taskFactory({ type: 'spy' });
    const { registry } = spyTaskType(async () => {
      throw new Error('busy');
    });
    const { log, deps } = setup([task], { registry });

    await expect(runTask(sqsRecordFor(task), deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(log.at('error')).toEqual([]);
  });

  it('keeps the message when the backoff cannot be set: it comes back after its visibility timeout', async () => {
    const task = taskFactory({ type: 'spy' });
    const { registry } = spyTaskType(async () => {
      throw new Error('busy');
    });
    const { store, queue, log, deps } = setup([task], { registry });
    queue.failNext('retryLater', new Error('queue unavailable'));

    await expect(runTask(sqsRecordFor(task), deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(store.peek(task.taskId)).toMatchObject({ status: 'QUEUED', attempt: 1, lastError: { message: 'busy' } });
    expect(log.at('warn').map((entry) => entry.message)).toEqual([
      'could not delay the retry; it follows the visibility timeout',
    ]);
  });
});

describe('backoffSeconds', () => {
  it.each([
    { attempt: 1, random: 0, expected: 0 },
    { attempt: 1, random: 0.999_999, expected: 2 },
    { attempt: 2, random: 0.999_999, expected: 4 },
    { attempt: 3, random: 0.5, expected: 4 },
    { attempt: 3, random: 0.4, expected: 3 },
    { attempt: 8, random: 0.999_999, expected: 256 },
    { attempt: 9, random: 0.999_999, expected: 300 },
    { attempt: 30, random: 0.999_999, expected: 300 },
    { attempt: 30, random: 0, expected: 0 },
  ])(
    'is $expected s for attempt $attempt with random $random (base 2 s, cap 300 s)',
    ({ attempt, random, expected }) => {
      expect(
        backoffSeconds(attempt, { retryBaseDelaySeconds: 2, retryMaxDelaySeconds: 300, random: () => random }),
      ).toBe(expected);
    },
  );
});
