import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OwnerSlots, SlotLease, SlotResult, SubmitRateLimiter } from '../../shared/fair-share.js';
import type { TaskStore } from '../../shared/ports.js';
import type { Task } from '../../shared/task.js';
import {
  dynamoFairShareHarness,
  dynamoHarness,
  type FairShareHarness,
  inMemoryFairShareHarness,
  inMemoryHarness,
  queuedTask,
  type TaskStoreHarness,
} from '../support/task-store-harness.js';

/**
 * The TaskStore contract, run against the in-memory fake the unit tests trust and against
 * DynamoTaskStore on dynalite, each write also with its reply lost and retried by the SDK: the
 * result must be the one the first try would have given. A fake that passes this behaves like the
 * real store on every path the cores take.
 */
const t0 = new Date('2026-11-30T10:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const MINUTE = 60_000;
const OWNER = 'jwt:owner-a';
const error = { code: 'HandlerError', message: 'boom' };
/** An expiry far in the future, for writes whose expiresAt the test does not look at. */
const FAR = 99_999_999_999;
/** Each write runs once as is, and once more with its reply lost (`lose: true`). */
const modes = [
  { lose: false, label: '' },
  { lose: true, label: ', its reply lost and retried' },
] as const;

describe.each([
  ['InMemoryTaskStore', inMemoryHarness],
  ['DynamoTaskStore on dynalite', () => dynamoHarness()],
])('TaskStore contract: %s', (_name, makeHarness) => {
  let harness: TaskStoreHarness;
  let store: TaskStore;
  beforeAll(async () => {
    harness = await makeHarness();
    store = harness.store;
  });
  afterAll(() => harness.stop());
  afterEach(() => harness.clearLostReplies());

  /** With `lost`, the reply of the store's next `method` write is lost inside the SDK's retries. */
  const lose = (lost: boolean, method: keyof TaskStore) => {
    if (lost) harness.loseNextReply(method);
  };
  const given = async (overrides: Partial<Task> = {}): Promise<Task> => {
    const task = queuedTask(t0, { ownerId: OWNER, ...overrides });
    expect(await store.create(task, t0.getTime())).toEqual({ created: true });
    return task;
  };
  const running = async (lease = at(MINUTE).getTime()): Promise<Task> => {
    const task = await given();
    const claim = await store.claim(task.taskId, t0, lease);
    if (!claim.claimed) throw new Error('setup: claim failed');
    return claim.task;
  };

  describe('create', () => {
    it('keeps a payload reference and the owner hash in place of the payload', async () => {
      const payloadRef = { key: 'h/u/payload.json', size: 9_000, etag: '"e0"' };
      const task = queuedTask(t0, { payload: undefined, payloadRef, ownerHash: 'h' });
      expect(await store.create(task, t0.getTime())).toEqual({ created: true });
      const stored = await store.get(task.taskId);
      expect(stored).toMatchObject({ payloadRef, ownerHash: 'h' });
      expect(stored?.payload).toBeUndefined();
    });

    it.each(modes)('records a new task$label', async ({ lose: lost }) => {
      const task = queuedTask(t0);
      lose(lost, 'create');
      expect(await store.create(task, t0.getTime())).toEqual({ created: true });
      expect(await store.get(task.taskId)).toMatchObject({ status: 'QUEUED', attempt: 0, payload: task.payload });
    });

    it('keeps the lane and priority a task was created with through its claim', async () => {
      const task = await given({ lane: 'long', priority: 'high' });

      const claim = await store.claim(task.taskId, t0, at(MINUTE).getTime());

      expect(claim).toMatchObject({ claimed: true, task: { lane: 'long', priority: 'high' } });
    });

    it('returns the live task that holds the id', async () => {
      const task = await given();
      const result = await store.create({ ...task, payload: 'other', lastWriteId: 'other' }, t0.getTime());
      expect(result).toMatchObject({ created: false, existing: { taskId: task.taskId, payload: task.payload } });
    });

    it('replaces an expired task, but not one an attempt still holds', async () => {
      const expired = await given({ expiresAt: Math.floor(t0.getTime() / 1000) - 1 });
      const held = await given({ expiresAt: Math.floor(t0.getTime() / 1000) + 1 });
      await store.claim(held.taskId, t0, at(10 * MINUTE).getTime());
      const later = at(5_000).getTime();

      expect(await store.create({ ...expired, payload: 'new', lastWriteId: 'new' }, later)).toEqual({ created: true });
      expect(await store.create({ ...held, payload: 'new', lastWriteId: 'new' }, later)).toMatchObject({
        created: false,
      });
    });
  });

  describe('claim', () => {
    it.each(modes)('takes a QUEUED task: RUNNING, attempt 1, leased$label', async ({ lose: lost }) => {
      const task = await given();
      lose(lost, 'claim');
      const claim = await store.claim(task.taskId, at(1), at(MINUTE).getTime());
      expect(claim).toMatchObject({
        claimed: true,
        task: { status: 'RUNNING', attempt: 1, leaseExpiresAt: at(MINUTE).getTime(), claimedFrom: 'QUEUED' },
      });
    });

    it('refuses a task held by a live lease, a task waiting for its runAtMs, an expired task and an unknown id', async () => {
      const held = await running(at(MINUTE).getTime());
      const waiting = await given({ runAtMs: at(10_000).getTime() });
      const expired = await given({ expiresAt: Math.floor(t0.getTime() / 1000) });
      const now = at(5_000);

      expect(await store.claim(held.taskId, now, at(2 * MINUTE).getTime())).toMatchObject({
        claimed: false,
        task: { status: 'RUNNING', attempt: 1 },
      });
      expect(await store.claim(waiting.taskId, now, at(2 * MINUTE).getTime())).toMatchObject({
        claimed: false,
        task: { status: 'QUEUED', runAtMs: at(10_000).getTime() },
      });
      expect(await store.claim(expired.taskId, now, at(2 * MINUTE).getTime())).toMatchObject({ claimed: false });
      expect(await store.claim('00000000-0000-4000-8000-000000000000', now, 1)).toEqual({ claimed: false });
    });

    it.each(modes)('takes over a task whose lease expired, as the next attempt$label', async ({ lose: lost }) => {
      const task = await running(at(1_000).getTime());
      lose(lost, 'claim');
      const takeover = await store.claim(task.taskId, at(1_001), at(MINUTE).getTime());
      expect(takeover).toMatchObject({ claimed: true, task: { attempt: 2, claimedFrom: 'RUNNING' } });
    });

    it('claims a waiting task once its runAtMs has come', async () => {
      const task = await given({ runAtMs: at(10_000).getTime() });
      const claim = await store.claim(task.taskId, at(10_000), at(MINUTE).getTime());
      expect(claim).toMatchObject({ claimed: true, task: { attempt: 1 } });
      expect(claim.claimed && claim.task.runAtMs).toBeUndefined();
    });
  });

  describe('finish', () => {
    it.each(modes)('records the outcome of the current attempt$label', async ({ lose: lost }) => {
      const task = await running();
      lose(lost, 'finish');
      expect(await store.finish(task.taskId, 1, { status: 'SUCCEEDED', result: { ok: 1 } }, at(2), 99)).toBe(true);
      expect(await store.get(task.taskId)).toMatchObject({ status: 'SUCCEEDED', result: { ok: 1 }, expiresAt: 99 });
      expect((await store.get(task.taskId))?.leaseExpiresAt).toBeUndefined();
    });

    it.each(modes)(
      'records a result kept in the task data bucket as its reference, with the attempt’s artifacts$label',
      async ({ lose: lost }) => {
        const task = await running();
        const resultRef = { key: 'h/t/1/result.json', size: 5_000, etag: '"e1"' };
        const artifacts = [{ name: 'a.csv', key: 'h/t/1/artifacts/a.csv', size: 12, contentType: 'text/csv' }];
        lose(lost, 'finish');
        expect(
          await store.finish(
            task.taskId,
            1,
            { status: 'SUCCEEDED', result: undefined, resultRef, artifacts },
            at(2),
            99,
          ),
        ).toBe(true);
        const finished = await store.get(task.taskId);
        expect(finished).toMatchObject({ status: 'SUCCEEDED', resultRef, artifacts });
        expect(finished?.result).toBeUndefined();
      },
    );

    it('records the artifacts of a failed attempt with its error', async () => {
      const task = await running();
      const artifacts = [{ name: 'log.txt', key: 'h/t/1/artifacts/log.txt', size: 3, contentType: 'text/plain' }];
      expect(await store.finish(task.taskId, 1, { status: 'FAILED', error, artifacts }, at(2), 99)).toBe(true);
      expect(await store.get(task.taskId)).toMatchObject({ status: 'FAILED', error, artifacts });
    });

    it('refuses a stale attempt (fencing)', async () => {
      const task = await running(at(1_000).getTime());
      await store.claim(task.taskId, at(2_000), at(MINUTE).getTime());
      expect(await store.finish(task.taskId, 1, { status: 'SUCCEEDED', result: 'late' }, at(3_000), 99)).toBe(false);
      expect(await store.finish(task.taskId, 2, { status: 'FAILED', error }, at(3_000), 99)).toBe(true);
    });
  });

  describe('progress', () => {
    it('writes the current attempt’s progress and returns the task, cancel request included', async () => {
      const task = await running();
      await store.cancel(task.taskId, OWNER, at(1), FAR);
      const written = await store.progress(task.taskId, 1, { percent: 40 }, at(2));
      expect(written).toMatchObject({ progress: { percent: 40 }, cancelRequested: true });
      expect(await store.progress(task.taskId, 2, { percent: 50 }, at(3))).toBeUndefined();
    });
  });

  describe('release', () => {
    it.each(modes)('puts the attempt back to QUEUED until runAtMs$label', async ({ lose: lost }) => {
      const task = await running();
      lose(lost, 'release');
      expect(await store.release(task.taskId, 1, error, at(5), at(9_000).getTime())).toBe('released');
      const released = await store.get(task.taskId);
      expect(released).toMatchObject({ status: 'QUEUED', attempt: 1, lastError: error, runAtMs: at(9_000).getTime() });
      expect(released?.leaseExpiresAt).toBeUndefined();
    });

    it('does not release an attempt whose owner asked to cancel: the worker ends it CANCELLED', async () => {
      const task = await running();
      await store.cancel(task.taskId, OWNER, at(1), FAR);
      expect(await store.release(task.taskId, 1, error, at(5), at(9_000).getTime())).toBe('cancelRequested');
      expect(await store.get(task.taskId)).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    });

    it('reports a superseded attempt', async () => {
      const task = await running(at(1_000).getTime());
      await store.claim(task.taskId, at(2_000), at(MINUTE).getTime());
      expect(await store.release(task.taskId, 1, error, at(3_000), at(9_000).getTime())).toBe('superseded');
    });
  });

  describe('cancel', () => {
    it.each(modes)('cancels a QUEUED task at once, reporting the change once$label', async ({ lose: lost }) => {
      const task = await given();
      lose(lost, 'cancel');
      const first = await store.cancel(task.taskId, OWNER, at(1), FAR);
      const again = await store.cancel(task.taskId, OWNER, at(1), FAR);
      expect(first).toMatchObject({ change: 'cancelled', task: { status: 'CANCELLED', expiresAt: FAR } });
      expect(again).toMatchObject({ change: 'none', task: { status: 'CANCELLED' } });
    });

    it.each(modes)('asks a RUNNING task to stop$label', async ({ lose: lost }) => {
      const task = await running();
      lose(lost, 'cancel');
      expect(await store.cancel(task.taskId, OWNER, at(1), FAR)).toMatchObject({
        change: 'cancelRequested',
        task: { status: 'RUNNING', cancelRequested: true },
      });
      expect(await store.cancel(task.taskId, OWNER, at(2), FAR)).toMatchObject({ change: 'none' });
    });

    it('reports a finished task unchanged, and another owner’s or an expired task as missing', async () => {
      const done = await running();
      await store.finish(done.taskId, 1, { status: 'SUCCEEDED', result: 1 }, at(1), FAR);
      const expired = await given({ expiresAt: Math.floor(t0.getTime() / 1000) });

      expect(await store.cancel(done.taskId, OWNER, at(2), 99)).toMatchObject({
        change: 'none',
        task: { status: 'SUCCEEDED' },
      });
      expect(await store.cancel(done.taskId, 'jwt:someone-else', at(2), 99)).toBeUndefined();
      expect(await store.cancel(expired.taskId, OWNER, at(2), 99)).toBeUndefined();
      expect((await store.get(expired.taskId))?.status).toBe('QUEUED');
    });
  });

  describe('discard and markReplayed', () => {
    it.each(modes)('discards the never-enqueued task it created$label', async ({ lose: lost }) => {
      const task = await given();
      lose(lost, 'discard');
      expect(await store.discard(task)).toBe('discarded');
      expect(await store.get(task.taskId)).toBeUndefined();
    });

    it('keeps a task that a worker claimed or a replay promised to another request', async () => {
      const claimed = await given();
      await store.claim(claimed.taskId, t0, at(MINUTE).getTime());
      const replayed = await given();

      expect(await store.markReplayed(replayed.taskId, at(1))).toBe(true);
      expect(await store.discard(claimed)).toBe('kept');
      expect(await store.discard(replayed)).toBe('kept');
      expect(await store.markReplayed(claimed.taskId, at(1))).toBe(false);
    });

    it('reports discarded a task whose id another creation took after the delete’s lost reply', async () => {
      // The delete was applied, its reply lost; before the SDK's retry, a request with the same key and
      // another body created its own task under the id. The retry finds that one: not ours, so not kept.
      const first = await given();
      expect(await store.discard(first)).toBe('discarded');
      await given({ taskId: first.taskId, createdAt: at(5).toISOString(), payloadHash: 'another body' });

      expect(await store.discard(first)).toBe('discarded');
      expect(await store.get(first.taskId)).toMatchObject({ payloadHash: 'another body' });
    });

    it.each(modes)('marks a never-claimed task replayed$label', async ({ lose: lost }) => {
      const task = await given();
      lose(lost, 'markReplayed');
      expect(await store.markReplayed(task.taskId, at(1))).toBe(true);
    });
  });

  describe('failAbandoned (the dead-letter path)', () => {
    it.each(modes)('fails a due QUEUED task and a RUNNING task past its lease$label', async ({ lose: lost }) => {
      const queued = await given();
      const crashed = await running(at(1_000).getTime());
      lose(lost, 'failAbandoned');
      expect(await store.failAbandoned(queued.taskId, error, at(2_000), 99)).toMatchObject({ ended: true });
      lose(lost, 'failAbandoned');
      expect(await store.failAbandoned(crashed.taskId, error, at(2_000), 99)).toMatchObject({
        ended: true,
        task: { status: 'FAILED', error },
      });
      expect(await store.get(crashed.taskId)).toMatchObject({ status: 'FAILED', error, attempt: 1 });
    });

    it.each(modes)(
      'ends CANCELLED a task whose owner asked for a cancel its lost attempt never recorded$label',
      async ({ lose: lost }) => {
        const crashed = await running(at(1_000).getTime());
        await store.cancel(crashed.taskId, OWNER, at(500), FAR);
        lose(lost, 'failAbandoned');

        expect(await store.failAbandoned(crashed.taskId, error, at(2_000), 99)).toMatchObject({
          ended: true,
          task: { status: 'CANCELLED' },
        });
        const stored = await store.get(crashed.taskId);
        expect(stored).toMatchObject({ status: 'CANCELLED', finishedAt: at(2_000).toISOString() });
        expect(stored?.error).toBeUndefined();
        // Nothing for a redrive to run again.
        expect(await store.requeueDeadLettered(crashed.taskId, 3, at(3_000))).toBe(false);
      },
    );

    it('leaves a task under a live lease, or waiting for its backoff, to what drives it', async () => {
      const held = await running(at(MINUTE).getTime());
      const waiting = await given({ runAtMs: at(MINUTE).getTime() });

      expect(await store.failAbandoned(held.taskId, error, at(1_000), 99)).toMatchObject({
        ended: false,
        task: { status: 'RUNNING' },
      });
      expect(await store.failAbandoned(waiting.taskId, error, at(1_000), 99)).toMatchObject({ ended: false });
      // Within the clock tolerance a backoff that is about to end counts as ended.
      expect(await store.failAbandoned(waiting.taskId, error, at(MINUTE - 2_000), 99, 5_000)).toMatchObject({
        ended: true,
      });
    });
  });

  describe('endExpired (a task its time to live ran out on)', () => {
    const expiry = { code: 'Expired', message: 'x' };
    const soon = Math.floor(t0.getTime() / 1000) + 10;

    it.each(modes)('ends an expired QUEUED task FAILED, with a fresh expiresAt$label', async ({ lose: lost }) => {
      const task = await given({ expiresAt: soon });
      lose(lost, 'endExpired');

      expect(await store.endExpired(task.taskId, expiry, at(20_000), FAR)).toMatchObject({
        ended: true,
        task: { status: 'FAILED', error: expiry },
      });
      expect(await store.get(task.taskId)).toMatchObject({
        status: 'FAILED',
        error: expiry,
        finishedAt: at(20_000).toISOString(),
        expiresAt: FAR,
      });
    });

    it('leaves a task not yet expired, or held by a live lease, and ends the latter once its lease is over', async () => {
      const young = await given();
      const held = await given({ expiresAt: soon });
      await store.claim(held.taskId, t0, at(MINUTE).getTime());

      expect(await store.endExpired(young.taskId, expiry, at(20_000), FAR)).toMatchObject({ ended: false });
      expect(await store.endExpired(held.taskId, expiry, at(20_000), FAR)).toMatchObject({
        ended: false,
        task: { status: 'RUNNING' },
      });
      expect(await store.endExpired(held.taskId, expiry, at(2 * MINUTE), FAR)).toMatchObject({
        ended: true,
        task: { status: 'FAILED', attempt: 1 },
      });
    });

    it('ends CANCELLED an expired task whose owner asked for a cancel', async () => {
      const task = await given({ expiresAt: soon });
      await store.claim(task.taskId, t0, at(1_000).getTime());
      await store.cancel(task.taskId, OWNER, at(500), FAR);

      expect(await store.endExpired(task.taskId, expiry, at(20_000), FAR)).toMatchObject({
        ended: true,
        task: { status: 'CANCELLED' },
      });
    });
  });

  describe('requeueDeadLettered (redrive)', () => {
    it.each(modes)(
      'gives a redriven task its time to live again, counted from the redrive$label',
      async ({ lose: lost }) => {
        const task = await running(at(1_000).getTime());
        const endExpiresAt = Math.floor(at(2_000).getTime() / 1000) + 7 * 86_400;
        await store.failAbandoned(task.taskId, { code: 'DeadLettered', message: 'x' }, at(2_000), endExpiresAt);
        const threeDays = 3 * 86_400_000;
        lose(lost, 'requeueDeadLettered');

        expect(await store.requeueDeadLettered(task.taskId, 3, at(2_000 + threeDays))).toBe(true);
        expect((await store.get(task.taskId))?.expiresAt).toBe(endExpiresAt + threeDays / 1000);
      },
    );

    it.each(modes)('puts a dead-lettered task back to QUEUED with more attempts$label', async ({ lose: lost }) => {
      const task = await running(at(1_000).getTime());
      await store.failAbandoned(task.taskId, { code: 'DeadLettered', message: 'x' }, at(2_000), FAR);
      lose(lost, 'requeueDeadLettered');
      expect(await store.requeueDeadLettered(task.taskId, 3, at(3_000))).toBe(true);
      expect(await store.get(task.taskId)).toMatchObject({ status: 'QUEUED', attempt: 1, maxAttempts: 4 });
      expect(await store.requeueDeadLettered(task.taskId, 3, at(4_000))).toBe(false);
    });
  });

  describe('recordCallback (deliveries of a finished task’s callback)', () => {
    const URL = 'https://receiver.example.com/hook';
    const finished = async (): Promise<Task> => {
      const task = await given({ callback: { url: URL } });
      await store.claim(task.taskId, t0, at(MINUTE).getTime());
      await store.finish(task.taskId, 1, { status: 'SUCCEEDED', result: 1 }, at(1_000), FAR);
      return (await store.get(task.taskId)) as Task;
    };
    const retry = (eventAt: string, attemptsBefore: number) => ({
      eventAt,
      attemptsBefore,
      attempts: attemptsBefore + 1,
      status: 'PENDING' as const,
      lastStatusCode: 500,
      nextAttemptAt: at(9_000).getTime(),
    });

    it.each(modes)('records attempts in order, then the delivery$label', async ({ lose: lost }) => {
      const task = await finished();
      const eventAt = task.finishedAt ?? '';
      lose(lost, 'recordCallback');
      expect(await store.recordCallback(task.taskId, retry(eventAt, 0), at(2_000))).toBe(true);
      lose(lost, 'recordCallback');
      const delivered = { eventAt, attemptsBefore: 1, attempts: 2, status: 'DELIVERED' as const, lastStatusCode: 204 };
      expect(
        await store.recordCallback(task.taskId, { ...delivered, deliveredAt: at(3_000).toISOString() }, at(3_000)),
      ).toBe(true);
      const stored = await store.get(task.taskId);
      expect(stored?.callback).toEqual({
        url: URL,
        eventAt,
        attempts: 2,
        status: 'DELIVERED',
        lastStatusCode: 204,
        deliveredAt: at(3_000).toISOString(),
      });
    });

    it('refuses a second delivery of the same attempt, a settled callback and an event that is over', async () => {
      const task = await finished();
      const eventAt = task.finishedAt ?? '';
      expect(await store.recordCallback(task.taskId, retry(eventAt, 0), at(2_000))).toBe(true);

      expect(await store.recordCallback(task.taskId, retry(eventAt, 0), at(2_000))).toBe(false);
      expect(await store.recordCallback(task.taskId, retry('2020-01-01T00:00:00.000Z', 0), at(2_000))).toBe(false);
      const failed = { eventAt, attemptsBefore: 1, attempts: 2, status: 'FAILED' as const, lastStatusCode: 410 };
      expect(await store.recordCallback(task.taskId, failed, at(3_000))).toBe(true);
      expect(await store.recordCallback(task.taskId, retry(eventAt, 2), at(4_000))).toBe(false);
    });

    it('refuses a task that is not finished, or has no callback', async () => {
      const unfinished = await given({ callback: { url: URL } });
      const plain = await running();
      await store.finish(plain.taskId, 1, { status: 'SUCCEEDED', result: 1 }, at(1_000), FAR);
      const plainEvent = (await store.get(plain.taskId))?.finishedAt ?? '';

      expect(await store.recordCallback(unfinished.taskId, retry(t0.toISOString(), 0), at(2_000))).toBe(false);
      expect(await store.recordCallback(plain.taskId, retry(plainEvent, 0), at(2_000))).toBe(false);
      expect((await store.get(plain.taskId))?.callback).toBeUndefined();
    });

    it('treats a redriven task’s next end as a new event, whatever the last one recorded', async () => {
      const task = await given({ callback: { url: URL } });
      await store.claim(task.taskId, t0, at(1_000).getTime());
      await store.failAbandoned(task.taskId, { code: 'DeadLettered', message: 'x' }, at(2_000), FAR);
      const first = (await store.get(task.taskId))?.finishedAt ?? '';
      const delivered = { eventAt: first, attemptsBefore: 0, attempts: 1, status: 'DELIVERED' as const };
      expect(await store.recordCallback(task.taskId, delivered, at(3_000))).toBe(true);
      await store.requeueDeadLettered(task.taskId, 3, at(4_000));
      await store.cancel(task.taskId, OWNER, at(5_000), FAR);

      const second = (await store.get(task.taskId))?.finishedAt ?? '';
      expect(second).not.toBe(first);
      expect(await store.recordCallback(task.taskId, retry(second, 0), at(6_000))).toBe(true);
    });

    it('finds finished tasks whose callback is pending in a scan, with the unfinished ones', async () => {
      const pending = await finished();
      const settled = await finished();
      const event = { eventAt: settled.finishedAt ?? '', attemptsBefore: 0, attempts: 1, status: 'DELIVERED' as const };
      await store.recordCallback(settled.taskId, event, at(2_000));
      const plain = await running();
      await store.finish(plain.taskId, 1, { status: 'SUCCEEDED', result: 1 }, at(1_000), FAR);
      const queued = await given();

      const ids: string[] = [];
      let cursor: Record<string, string> | undefined;
      do {
        const page = await store.scan({ statuses: ['QUEUED', 'RUNNING'], pendingCallbacks: true }, cursor);
        ids.push(...page.tasks.map((t) => t.taskId));
        cursor = page.cursor;
      } while (cursor);
      expect(ids).toEqual(expect.arrayContaining([pending.taskId, queued.taskId]));
      expect(ids).not.toContain(settled.taskId);
      expect(ids).not.toContain(plain.taskId);
    });
  });

  describe('noteWaiting (a task waiting for its owner’s slot)', () => {
    it.each(modes)(
      'lets a message that never waited become the waiter, changing nothing a claim reads$label',
      async ({ lose: lost }) => {
        const task = await given();
        lose(lost, 'noteWaiting');
        expect(await store.noteWaiting(task.taskId, at(30_000).getTime(), { nowMs: t0.getTime() })).toBe('noted');

        expect(await store.get(task.taskId)).toMatchObject({
          status: 'QUEUED',
          waitingUntilMs: at(30_000).getTime(),
          updatedAt: task.updatedAt,
          lastWriteId: task.lastWriteId,
        });
        expect(await store.claim(task.taskId, at(1_000), at(MINUTE).getTime())).toMatchObject({ claimed: true });
      },
    );

    it.each(modes)('lets the waiter go on waiting with the wait it was sent for$label', async ({ lose: lost }) => {
      const task = await given();
      await store.noteWaiting(task.taskId, at(10_000).getTime(), { nowMs: t0.getTime() });
      lose(lost, 'noteWaiting');

      const next = await store.noteWaiting(task.taskId, at(30_000).getTime(), {
        expected: at(10_000).getTime(),
        nowMs: at(10_000).getTime(),
      });

      expect(next).toBe('noted');
      expect((await store.get(task.taskId))?.waitingUntilMs).toBe(at(30_000).getTime());
    });

    it('tells a second copy that another message waits, until that wait has run out', async () => {
      const task = await given();
      await store.noteWaiting(task.taskId, at(10_000).getTime(), { nowMs: t0.getTime() });

      expect(await store.noteWaiting(task.taskId, at(20_000).getTime(), { nowMs: at(1_000).getTime() })).toBe(
        'superseded',
      );
      expect(
        await store.noteWaiting(task.taskId, at(20_000).getTime(), {
          expected: at(5_000).getTime(),
          nowMs: at(1).getTime(),
        }),
      ).toBe('superseded');
      expect(await store.noteWaiting(task.taskId, at(40_000).getTime(), { nowMs: at(11_000).getTime() })).toBe('noted');
      // The waiter that comes back late finds another one waiting: it stops.
      const late = { expected: at(10_000).getTime(), nowMs: at(12_000).getTime() };
      expect(await store.noteWaiting(task.taskId, at(50_000).getTime(), late)).toBe('superseded');
    });

    it('is cleared by the next claim, and keeps the dead-letter path off a waiting task', async () => {
      const waiting = await given();
      await store.noteWaiting(waiting.taskId, at(30_000).getTime(), { nowMs: t0.getTime() });
      const claimed = await given();
      await store.noteWaiting(claimed.taskId, at(30_000).getTime(), { nowMs: t0.getTime() });

      expect(await store.failAbandoned(waiting.taskId, error, at(1_000), 99)).toMatchObject({ ended: false });
      expect(await store.claim(claimed.taskId, at(1_000), at(MINUTE).getTime())).toMatchObject({ claimed: true });
      expect((await store.get(claimed.taskId))?.waitingUntilMs).toBeUndefined();
    });

    it('notes a RUNNING task too (its takeover waits), and answers gone for a finished one, leaving it alone', async () => {
      const crashed = await running(at(1_000).getTime());
      const done = await running();
      await store.finish(done.taskId, 1, { status: 'SUCCEEDED', result: 1 }, at(1), FAR);

      expect(await store.noteWaiting(crashed.taskId, at(9_000).getTime(), { nowMs: at(2_000).getTime() })).toBe(
        'noted',
      );
      expect(await store.noteWaiting(done.taskId, at(9_000).getTime(), { nowMs: at(2_000).getTime() })).toBe('gone');
      expect((await store.get(done.taskId))?.waitingUntilMs).toBeUndefined();
      expect(await store.noteWaiting('00000000-0000-4000-8000-000000000000', 1, { nowMs: 0 })).toBe('gone');
    });
  });

  it('lost the replies it was asked to lose (DynamoDB only)', () => {
    if (harness.name.startsWith('InMemory')) expect(harness.lostReplies()).toBe(0);
    else expect(harness.lostReplies()).toBeGreaterThanOrEqual(15);
  });
});

/**
 * The fair-share contract (owner concurrency slots, submit rate windows), the same way: the in-memory
 * fake the unit tests trust and DynamoFairShare on dynalite, each write also with its reply lost.
 */
describe.each([
  ['InMemoryFairShare', inMemoryFairShareHarness],
  ['DynamoFairShare on dynalite', dynamoFairShareHarness],
])('fair-share contract: %s', (_name, makeHarness) => {
  let harness: FairShareHarness;
  let slots: OwnerSlots & SubmitRateLimiter;
  beforeAll(async () => {
    harness = await makeHarness();
    slots = harness.fairShare;
  });
  afterAll(() => harness.stop());
  afterEach(() => harness.clearLostReplies());

  const pool = () => `owner-${randomUUID()}`;
  const lease = (ms: number) => at(ms).getTime();
  const acquired = (result: SlotResult): SlotLease => {
    if (!result.acquired) throw new Error(`setup: not acquired (${result.reason})`);
    return result.lease;
  };

  describe('acquire', () => {
    it.each(modes)('gives up to `limit` holders a slot each, then says the pool is full$label', async ({ lose }) => {
      const p = pool();
      if (lose) harness.loseNextReply();
      const first = await slots.acquire(p, 'task-1', 2, t0, lease(MINUTE));
      if (lose) harness.loseNextReply();
      const second = await slots.acquire(p, 'task-2', 2, t0, lease(2 * MINUTE));
      const third = await slots.acquire(p, 'task-3', 2, t0, lease(MINUTE));

      expect(first).toMatchObject({ acquired: true, lease: { pool: p, holder: 'task-1' } });
      expect(second).toMatchObject({ acquired: true, lease: { pool: p, holder: 'task-2' } });
      expect(third).toEqual({ acquired: false, reason: 'full', freeAtMs: lease(MINUTE) });
    });

    it.each(modes)('prunes leases that ended: a crashed holder cannot keep its slot$label', async ({ lose }) => {
      const p = pool();
      acquired(await slots.acquire(p, 'crashed', 1, t0, lease(1_000)));
      if (lose) harness.loseNextReply();

      const next = await slots.acquire(p, 'task-2', 1, at(1_000), lease(MINUTE));

      expect(next).toMatchObject({ acquired: true });
      expect(await slots.acquire(p, 'task-3', 1, at(2_000), lease(MINUTE))).toMatchObject({ reason: 'full' });
    });

    it('says a holder already holds a live slot, and lets it take a new one once that lease ended', async () => {
      const p = pool();
      acquired(await slots.acquire(p, 'task-1', 3, t0, lease(5_000)));

      expect(await slots.acquire(p, 'task-1', 3, at(1_000), lease(MINUTE))).toEqual({
        acquired: false,
        reason: 'held',
        freeAtMs: lease(5_000),
      });
      expect(await slots.acquire(p, 'task-1', 3, at(5_000), lease(MINUTE))).toMatchObject({ acquired: true });
    });

    it('keeps pools apart: an owner’s slots, and a type’s own slots of that owner', async () => {
      const owner = pool();
      acquired(await slots.acquire(owner, 'task-1', 1, t0, lease(MINUTE)));

      expect(await slots.acquire(`${owner}/report`, 'task-2', 1, t0, lease(MINUTE))).toMatchObject({ acquired: true });
      expect(await slots.acquire(pool(), 'task-3', 1, t0, lease(MINUTE))).toMatchObject({ acquired: true });
    });
  });

  describe('release', () => {
    it.each(modes)('frees the slot for the next holder$label', async ({ lose }) => {
      const p = pool();
      const held = acquired(await slots.acquire(p, 'task-1', 1, t0, lease(MINUTE)));
      if (lose) harness.loseNextReply();
      await slots.release(held);

      expect(await slots.acquire(p, 'task-2', 1, at(1), lease(MINUTE))).toMatchObject({ acquired: true });
    });

    it('frees only the slot its own acquisition took: a stale release after a takeover changes nothing', async () => {
      const p = pool();
      const stale = acquired(await slots.acquire(p, 'task-1', 1, t0, lease(1_000)));
      acquired(await slots.acquire(p, 'task-1', 1, at(2_000), lease(MINUTE)));

      await slots.release(stale);
      await slots.release(stale);

      expect(await slots.acquire(p, 'task-2', 1, at(3_000), lease(MINUTE))).toMatchObject({ reason: 'full' });
    });
  });

  describe('waiters', () => {
    const waiter = (n: number, since: number) => ({ taskId: `task-${n}`, type: 'work', since });

    it.each(modes)('hands each release the oldest waiter, each once$label', async ({ lose }) => {
      const p = pool();
      const first = acquired(await slots.acquire(p, 'task-1', 2, t0, lease(MINUTE)));
      const second = acquired(await slots.acquire(p, 'task-2', 2, t0, lease(MINUTE)));
      const third = acquired(await slots.acquire(p, 'task-3', 3, t0, lease(MINUTE)));
      if (lose) harness.loseNextReply();
      await slots.enlist(p, waiter(5, 2_000));
      await slots.enlist(p, waiter(4, 1_000));
      await slots.enlist(p, waiter(4, 1_000));

      expect(await slots.release(first)).toEqual(waiter(4, 1_000));
      expect(await slots.release(second)).toEqual(waiter(5, 2_000));
      expect(await slots.release(third)).toBeUndefined();
    });

    it('forgets a waiter that got its slot by itself', async () => {
      const p = pool();
      const held = acquired(await slots.acquire(p, 'task-1', 1, t0, lease(MINUTE)));
      await slots.enlist(p, waiter(2, 1_000));
      await slots.enlist(p, waiter(3, 2_000));

      await slots.withdraw(p, waiter(2, 1_000));
      await slots.withdraw(p, waiter(9, 1_000));

      expect(await slots.release(held)).toEqual(waiter(3, 2_000));
    });

    it('still hands over a waiter when the slot was gone already', async () => {
      const p = pool();
      const stale = acquired(await slots.acquire(p, 'task-1', 1, t0, lease(1_000)));
      acquired(await slots.acquire(p, 'task-2', 1, at(2_000), lease(MINUTE)));
      await slots.enlist(p, waiter(3, 1_000));

      expect(await slots.release(stale)).toEqual(waiter(3, 1_000));
    });

    it('keeps the waiters of pools apart', async () => {
      const owner = pool();
      const held = acquired(await slots.acquire(owner, 'task-1', 1, t0, lease(MINUTE)));
      await slots.enlist(`${owner}/export`, waiter(2, 1_000));

      expect(await slots.release(held)).toBeUndefined();
    });
  });

  describe('take (submit rate windows)', () => {
    const rate = { maxTasks: 5, windowSeconds: 60 };

    it.each(modes)(
      'admits submits up to the limit of the window, a batch whole or not at all$label',
      async ({ lose }) => {
        const owner = pool();
        if (lose) harness.loseNextReply();
        expect(await slots.take(owner, 3, rate, t0)).toEqual({ allowed: true });
        expect(await slots.take(owner, 3, rate, at(1_000))).toEqual({ allowed: false, retryAfterSeconds: 59 });
        expect(await slots.take(owner, 2, rate, at(2_000))).toEqual({ allowed: true });
        expect(await slots.take(owner, 1, rate, at(3_000))).toMatchObject({ allowed: false });
      },
    );

    it('starts afresh in the next window, and counts each owner apart', async () => {
      const owner = pool();
      expect(await slots.take(owner, 5, rate, t0)).toEqual({ allowed: true });
      expect(await slots.take(pool(), 5, rate, t0)).toEqual({ allowed: true });
      expect(await slots.take(owner, 5, rate, at(MINUTE))).toEqual({ allowed: true });
    });
  });

  it('lost the replies it was asked to lose, and recognised its own writes (DynamoDB only)', () => {
    if (harness.name.startsWith('InMemory')) expect(harness.lostReplies()).toBe(0);
    else {
      expect(harness.lostReplies()).toBeGreaterThanOrEqual(5);
      expect(harness.recovered).toEqual(expect.arrayContaining(['acquire', 'take']));
    }
  });
});
