import { describe, expect, it, vi } from 'vitest';
import { defineTask, type TaskContext, type TaskRegistry } from '../../functions/tasks/define-task.js';
import { RetryLaterError, type RunTaskDeps, runTask } from '../../functions/worker/run-task.js';
import { DependencyUnavailableError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import type { TaskDataLimits } from '../../shared/task-data.js';
import * as z from '../../shared/zod.js';
import { sqsRecordFor, taskFactory } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryBlobStore } from '../support/in-memory-blob-store.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const REMAINING_MS = 60_000;
const LEASE_GRACE_MS = 5_000;
const HASH = '0123456789abcdef';
const LIMITS: TaskDataLimits = {
  inlineMaxBytes: 64,
  maxObjectBytes: 1_000,
  uploadUrlSeconds: 300,
  downloadUrlSeconds: 120,
  maxArtifacts: 2,
};

/** A task type whose handler the test writes; its payload is any JSON. */
const registryOf = (run: (payload: unknown, ctx: TaskContext) => Promise<unknown>): TaskRegistry =>
  new Map([['spy', defineTask({ payload: z.unknown(), run, maxAttempts: 3 })]]);

function setup(tasks: readonly Task[], run: (payload: unknown, ctx: TaskContext) => Promise<unknown>) {
  const store = new InMemoryTaskStore(tasks);
  const queue = new FakeTaskQueue();
  const clock = new FakeClock();
  const blobs = new InMemoryBlobStore(() => clock.epochMs);
  const log = new RecordingLog();
  const deps: RunTaskDeps = {
    store,
    queue,
    registry: registryOf(run),
    clock: clock.now,
    log,
    remainingTimeMs: () => REMAINING_MS,
    retryBaseDelaySeconds: 2,
    retryMaxDelaySeconds: 300,
    ttlDays: 7,
    maxResultBytes: 1024,
    leaseGraceMs: LEASE_GRACE_MS,
    random: () => 0.5,
    taskData: { blobs, limits: LIMITS },
  };
  return { store, queue, clock, blobs, log, deps };
}

const spyTask = (overrides: Partial<Task> = {}) => taskFactory({ type: 'spy', ownerHash: HASH, ...overrides });

/** A payload kept in the bucket, as the API leaves it. */
async function withStoredPayload(blobs: InMemoryBlobStore, task: Task, json: string): Promise<Task> {
  const key = `${HASH}/${task.taskId}/payload-0000abcd.json`;
  const { etag } = await blobs.put(key, Buffer.from(json), 'application/json');
  return { ...task, payload: undefined, payloadRef: { key, size: json.length, ...(etag && { etag }) } };
}

const run = (task: Task, deps: RunTaskDeps) => runTask(sqsRecordFor(task), deps);

describe('the worker with the task data bucket', () => {
  describe('payloads', () => {
    it('reads a payload kept in the bucket back before running the handler', async () => {
      const handler = vi.fn(async (payload: unknown) => payload);
      const env = setup([], handler);
      const task = await withStoredPayload(env.blobs, spyTask(), '{"doc":"long text"}');
      env.store.seed(task);

      await run(task, env.deps);

      expect(handler).toHaveBeenCalledWith({ doc: 'long text' }, expect.anything());
      expect(env.store.peek(task.taskId)).toMatchObject({ status: 'SUCCEEDED', result: { doc: 'long text' } });
    });

    it.each([
      ['gone', async (blobs: InMemoryBlobStore, key: string) => blobs.delete([key]), 'PayloadMissing'],
      [
        'replaced since the API checked it',
        async (blobs: InMemoryBlobStore, key: string) => void (await blobs.put(key, Buffer.from('{"x":2}'), 'a/b')),
        'PayloadChanged',
      ],
    ])('fails the task without running it when the payload is %s', async (_label, change, code) => {
      const handler = vi.fn(async () => 'ran');
      const env = setup([], handler);
      const task = await withStoredPayload(env.blobs, spyTask(), '{"x":1}');
      env.store.seed(task);
      await change(env.blobs, task.payloadRef?.key ?? '');

      await run(task, env.deps);

      expect(handler).not.toHaveBeenCalled();
      expect(env.store.peek(task.taskId)).toMatchObject({ status: 'FAILED', error: { code } });
    });

    it('retries when the bucket cannot be reached', async () => {
      const env = setup([], async () => 'ran');
      const task = await withStoredPayload(env.blobs, spyTask(), '{"x":1}');
      env.store.seed(task);
      env.blobs.failNext('get', new DependencyUnavailableError('task data bucket'));

      await expect(run(task, env.deps)).rejects.toThrow(RetryLaterError);

      expect(env.store.peek(task.taskId)).toMatchObject({
        status: 'QUEUED',
        lastError: { code: 'PayloadUnavailable' },
      });
    });
  });

  describe('results', () => {
    it('keeps a result of up to inlineMaxBytes in the item', async () => {
      const result = 'r'.repeat(LIMITS.inlineMaxBytes - 2);
      const task = spyTask();
      const env = setup([task], async () => result);

      await run(task, env.deps);

      expect(env.store.peek(task.taskId)).toMatchObject({ status: 'SUCCEEDED', result });
      expect(env.blobs.keys()).toEqual([]);
    });

    it('puts a larger one in the bucket under the attempt, and the item keeps only its reference', async () => {
      const result = { rows: 'r'.repeat(200) };
      const task = spyTask();
      const env = setup([task], async () => result);

      await run(task, env.deps);

      const key = `${HASH}/${task.taskId}/1/result.json`;
      const stored = env.store.peek(task.taskId);
      expect(stored).toMatchObject({
        status: 'SUCCEEDED',
        resultRef: { key, size: JSON.stringify(result).length, etag: expect.any(String) },
      });
      expect(stored).not.toHaveProperty('result');
      expect(JSON.parse(env.blobs.text(key) ?? '')).toEqual(result);
    });

    it('fails a result over maxObjectBytes with ResultTooLarge, storing nothing', async () => {
      const task = spyTask();
      const env = setup([task], async () => 'r'.repeat(LIMITS.maxObjectBytes));

      await run(task, env.deps);

      expect(env.store.peek(task.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'ResultTooLarge' } });
      expect(env.blobs.keys()).toEqual([]);
    });

    it('retries a result whose upload failed, and deletes the attempt’s files', async () => {
      const task = spyTask();
      const env = setup([task], async (_payload, ctx) => {
        await ctx.artifacts.put('part.txt', 'half');
        return 'r'.repeat(200);
      });
      // The artifact's put goes through; the result's fails.
      const put = env.blobs.put.bind(env.blobs);
      vi.spyOn(env.blobs, 'put')
        .mockImplementationOnce(put)
        .mockRejectedValueOnce(new DependencyUnavailableError('task data bucket'));

      await expect(run(task, env.deps)).rejects.toThrow(RetryLaterError);

      expect(env.store.peek(task.taskId)).toMatchObject({
        status: 'QUEUED',
        lastError: { code: 'ResultUploadFailed' },
      });
      expect(env.blobs.keys()).toEqual([]);
    });
  });

  describe('artifacts', () => {
    it('lists the files the attempt wrote with the outcome, under the attempt’s prefix', async () => {
      const task = spyTask();
      const env = setup([task], async (_payload, ctx) => {
        await ctx.artifacts.put('report.csv', 'a,b\n1,2\n', 'text/csv');
        await ctx.artifacts.put('chart.png', new Uint8Array([137, 80, 78, 71]));
        return { ok: true };
      });

      await run(task, env.deps);

      expect(env.store.peek(task.taskId)?.artifacts).toEqual([
        { name: 'report.csv', key: `${HASH}/${task.taskId}/1/artifacts/report.csv`, size: 8, contentType: 'text/csv' },
        {
          name: 'chart.png',
          key: `${HASH}/${task.taskId}/1/artifacts/chart.png`,
          size: 4,
          contentType: 'application/octet-stream',
        },
      ]);
      expect(env.blobs.contentType(`${HASH}/${task.taskId}/1/artifacts/report.csv`)).toBe('text/csv');
    });

    it.each([
      ['a name with ..', '..secret'],
      ['a path', 'a/b.txt'],
      ['a control character', 'line\nbreak.txt'],
      ['a name starting with a dot', '.env'],
      ['an empty name', ''],
    ])('refuses %s: the task fails with InvalidArtifact and nothing is written', async (_label, name) => {
      const task = spyTask();
      const env = setup([task], async (_payload, ctx) => {
        await ctx.artifacts.put(name, 'x');
        return 'not reached';
      });

      await run(task, env.deps);

      expect(env.store.peek(task.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'InvalidArtifact' } });
      expect(env.blobs.keys()).toEqual([]);
    });

    it('refuses more files than maxArtifacts, but lets a name be written again', async () => {
      const task = spyTask();
      const outcomes: string[] = [];
      const env = setup([task], async (_payload, ctx) => {
        for (const name of ['a', 'b', 'a', 'c']) {
          outcomes.push(
            await ctx.artifacts.put(name, name).then(
              () => 'ok',
              (error: Error) => error.message,
            ),
          );
        }
        return 'done';
      });

      await run(task, env.deps);

      expect(outcomes).toEqual(['ok', 'ok', 'ok', `A task may write at most ${LIMITS.maxArtifacts} artifacts.`]);
      expect(env.store.peek(task.taskId)?.artifacts?.map((a) => a.name)).toEqual(['a', 'b']);
    });

    it('does not list a file whose put failed and was not awaited, and does not crash', async () => {
      const task = spyTask();
      const env = setup([task], async (_payload, ctx) => {
        void ctx.artifacts.put('lost.txt', 'x');
        await ctx.artifacts.put('kept.txt', 'y');
        return 'done';
      });
      env.blobs.failNext('put', new DependencyUnavailableError('task data bucket'));

      await run(task, env.deps);

      expect(env.store.peek(task.taskId)?.artifacts?.map((a) => a.name)).toEqual(['kept.txt']);
    });

    it('deletes the files of an attempt that will be retried', async () => {
      const task = spyTask();
      const env = setup([task], async (_payload, ctx) => {
        await ctx.artifacts.put('partial.txt', 'x');
        throw new Error('try again');
      });

      await expect(run(task, env.deps)).rejects.toThrow(RetryLaterError);

      expect(env.blobs.keys()).toEqual([]);
      expect(env.store.peek(task.taskId)?.artifacts).toBeUndefined();
    });

    it('keeps the files of a permanent failure with the error', async () => {
      const task = spyTask();
      const env = setup([task], async (_payload, ctx) => {
        await ctx.artifacts.put('log.txt', 'what went wrong');
        const { PermanentError } = await import('../../shared/errors.js');
        throw new PermanentError('BadInput', 'no');
      });

      await run(task, env.deps);

      expect(env.store.peek(task.taskId)).toMatchObject({
        status: 'FAILED',
        error: { code: 'BadInput' },
        artifacts: [expect.objectContaining({ name: 'log.txt' })],
      });
    });
  });

  it('deletes what an attempt wrote when a newer attempt took the task over, and nothing of the newer one', async () => {
    const task = spyTask();
    const newerKey = `${HASH}/${task.taskId}/2/result.json`;
    const env = setup([task], async (_payload, ctx) => {
      await ctx.artifacts.put('late.txt', 'x');
      // Our lease runs out mid-attempt; a second worker claims the task and stores its own result.
      env.clock.advance(REMAINING_MS + LEASE_GRACE_MS + 1);
      await env.store.claim(task.taskId, env.clock.now(), env.clock.epochMs + REMAINING_MS);
      await env.blobs.put(newerKey, Buffer.from('"newer"'), 'application/json');
      return 'r'.repeat(200);
    });

    await run(task, env.deps);

    expect(env.store.peek(task.taskId)).toMatchObject({ status: 'RUNNING', attempt: 2 });
    expect(env.blobs.keys()).toEqual([newerKey]);
  });

  it('deletes the files and the task’s own payload when its owner cancelled it while running', async () => {
    const env = setup([], async () => 'unused');
    const task = await withStoredPayload(env.blobs, spyTask(), '{"x":1}');
    env.store.seed(task);
    env.deps = {
      ...env.deps,
      registry: registryOf(async (_payload, ctx) => {
        await ctx.artifacts.put('partial.txt', 'x');
        await env.store.cancel(task.taskId, task.ownerId, env.clock.now(), env.clock.epochSeconds + 100);
        throw new Error('stopped on cancel');
      }),
    };

    await run(task, env.deps).catch(() => undefined);

    expect(env.store.peek(task.taskId)?.status).toBe('CANCELLED');
    expect(env.blobs.keys()).toEqual([]);
  });
});
