import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type TaskRegistry } from '../../functions/tasks/define-task.js';
import { RetryLaterError, type RunTaskDeps, runTask } from '../../functions/worker/run-task.js';
import { DependencyUnavailableError } from '../../shared/errors.js';
import { slotWaitSeconds } from '../../shared/fair-share.js';
import { FAIR_SHARE_COUNTS } from '../../shared/metric-names.js';
import type { Task } from '../../shared/task.js';
import { MAX_WAITS, parseTaskMessage, serializeTaskMessage, taskMessageOf } from '../../shared/task-message.js';
import { sqsRecordFactory, taskFactory } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryFairShare } from '../support/in-memory-fair-share.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';
import { RecordingTaskMetrics } from '../support/recording-task-metrics.js';

const REMAINING_MS = 60_000;
const LEASE_GRACE_MS = 5_000;
const GROUP = 'group-a';

/** `work`, `slow` (runs until told to finish) and `export` (at most one per owner: a limit of its own). */
function registry(): { registry: TaskRegistry; started: Promise<void>; finish: () => void } {
  let release: () => void = () => {};
  let announce: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    announce = resolve;
  });
  const gate = () =>
    new Promise<{ ok: true }>((resolve) => {
      release = () => resolve({ ok: true });
      announce();
    });
  return {
    started,
    registry: new Map([
      ['work', defineTask({ payload: z.unknown(), run: async () => ({ ok: true }) })],
      ['slow', defineTask({ payload: z.unknown(), run: gate })],
      ['export', defineTask({ payload: z.unknown(), maxRunningPerOwner: 1, run: async () => ({ ok: true }) })],
    ]),
    finish: () => release(),
  };
}

function setup(tasks: readonly Task[], options: { maxRunning?: number } = {}, overrides: Partial<RunTaskDeps> = {}) {
  const store = new InMemoryTaskStore(tasks);
  const queue = new FakeTaskQueue();
  const clock = new FakeClock();
  const slots = new InMemoryFairShare();
  const metrics = new RecordingTaskMetrics();
  const types = registry();
  const deps: RunTaskDeps = {
    store,
    queue,
    registry: types.registry,
    clock: clock.now,
    log: new RecordingLog(),
    metrics,
    remainingTimeMs: () => REMAINING_MS,
    retryBaseDelaySeconds: 2,
    retryMaxDelaySeconds: 300,
    ttlDays: 7,
    maxResultBytes: 1024,
    leaseGraceMs: LEASE_GRACE_MS,
    random: () => 0.5,
    ownerConcurrency: { slots, maxRunning: options.maxRunning, waitMaxSeconds: 60 },
    ...overrides,
  };
  return { store, queue, clock, slots, metrics, started: types.started, finish: types.finish, deps };
}

const ownerTask = (overrides: Partial<Task> = {}) => taskFactory({ type: 'work', ownerGroup: GROUP, ...overrides });
const recordOf = (task: Task, extra: { waits?: number; waitSince?: number } = {}) =>
  sqsRecordFactory(serializeTaskMessage({ ...taskMessageOf(task), ...extra }));

describe('per-owner concurrency limit in the worker', () => {
  it('runs a task while its owner has a free slot, and gives the slot back when it ends', async () => {
    const task = ownerTask();
    const { store, slots, clock, deps } = setup([task], { maxRunning: 1 });

    await runTask(recordOf(task), deps);

    expect(store.peek(task.taskId)?.status).toBe('SUCCEEDED');
    expect(slots.holders(GROUP, clock.epochMs)).toEqual([]);
  });

  it('holds the slot while the task runs, under the same lease as the task', async () => {
    const task = ownerTask({ type: 'slow' });
    const { store, slots, clock, started, finish, deps } = setup([task], { maxRunning: 1 });

    const running = runTask(recordOf(task), deps);
    await started;

    expect(slots.holders(GROUP, clock.epochMs)).toEqual([task.taskId]);
    expect(slots.pools.get(GROUP)?.get(task.taskId)?.lease).toBe(store.peek(task.taskId)?.leaseExpiresAt);
    finish();
    await running;
  });

  it('makes a task wait, QUEUED, without spending an attempt or a receive, once its owner has maxRunning RUNNING', async () => {
    const busy = ownerTask({ type: 'slow' });
    const waiting = ownerTask();
    const { store, queue, slots, clock, metrics, started, finish, deps } = setup([busy, waiting], { maxRunning: 1 });
    const running = runTask(recordOf(busy), deps);
    await started;

    await runTask(recordOf(waiting), deps);

    // The record is done with: a fresh message takes its place, sent with a delay and the owner's group.
    const waitSeconds = slotWaitSeconds(1, 60, () => 0.5);
    expect(queue.enqueued).toEqual([
      {
        message: {
          taskId: waiting.taskId,
          type: 'work',
          group: GROUP,
          waits: 1,
          waitUntil: clock.epochMs + waitSeconds * 1000,
          waitSince: clock.epochMs,
        },
        options: { delaySeconds: waitSeconds },
      },
    ]);
    expect(queue.retries).toEqual([]);
    expect(store.peek(waiting.taskId)).toMatchObject({
      status: 'QUEUED',
      attempt: 0,
      waitingUntilMs: clock.epochMs + waitSeconds * 1000,
      updatedAt: waiting.updatedAt,
    });
    expect(store.peek(waiting.taskId)?.runAtMs).toBeUndefined();
    expect(slots.holders(GROUP, clock.epochMs)).toEqual([busy.taskId]);
    expect([...(slots.waiting.get(GROUP)?.values() ?? [])]).toEqual([
      { taskId: waiting.taskId, type: 'work', since: clock.epochMs },
    ]);
    expect(metrics.count(FAIR_SHARE_COUNTS.ownerSlotWait)).toBe(1);
    finish();
    await running;
  });

  it('backs off a message that keeps waiting, up to the longest wait', async () => {
    const busy = ownerTask({ type: 'slow' });
    const waiting = ownerTask();
    const { queue, started, finish, deps } = setup([busy, waiting], { maxRunning: 1 }, { random: () => 0.999 });
    const running = runTask(recordOf(busy), deps);
    await started;

    await runTask(recordOf(waiting, { waits: 8 }), deps);
    for (let round = 0; round < 3; round++) {
      const last = queue.enqueued.at(-1)?.message;
      await runTask(sqsRecordFactory(serializeTaskMessage(last ?? taskMessageOf(waiting))), deps);
    }

    expect(queue.enqueued.map((call) => [call.message.waits, call.options?.delaySeconds])).toEqual([
      [9, 60],
      [10, 60],
      [11, 60],
      [12, 60],
    ]);
    finish();
    await running;
  });

  it('keeps counting waits within what a message may say, so a long wait never becomes a dropped message', async () => {
    const busy = ownerTask({ type: 'slow' });
    const waiting = ownerTask();
    const { queue, started, finish, deps } = setup([busy, waiting], { maxRunning: 1 });
    const running = runTask(recordOf(busy), deps);
    await started;

    await runTask(recordOf(waiting, { waits: MAX_WAITS }), deps);

    const successor = queue.enqueued.at(-1)?.message;
    expect(successor?.waits).toBe(MAX_WAITS);
    expect(parseTaskMessage(serializeTaskMessage(successor ?? taskMessageOf(waiting)))).toMatchObject({
      taskId: waiting.taskId,
      waits: MAX_WAITS,
    });
    finish();
    await running;
  });

  it('ends a task whose wait for a slot outlasted its time to live, instead of sending it on', async () => {
    const busy = ownerTask({ type: 'slow' });
    const epochSeconds = Math.floor(new FakeClock().epochMs / 1000);
    const waiting = ownerTask({ expiresAt: epochSeconds - 1, waitingUntilMs: new FakeClock().epochMs - 1 });
    const { store, queue, started, finish, deps } = setup([busy, waiting], { maxRunning: 1 });
    const running = runTask(recordOf(busy), deps);
    await started;

    await runTask(recordOf(waiting, { waits: 40 }), deps);

    expect(store.peek(waiting.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'Expired' } });
    expect(queue.enqueued).toEqual([]);
    finish();
    await running;
  });

  it('lets one message wait per task: a copy of it is dropped, not sent on', async () => {
    const busy = ownerTask({ type: 'slow' });
    const waiting = ownerTask();
    const { queue, started, finish, deps } = setup([busy, waiting], { maxRunning: 1 });
    const running = runTask(recordOf(busy), deps);
    await started;
    await runTask(recordOf(waiting), deps);

    await runTask(recordOf(waiting), deps);
    await runTask(recordOf(waiting, { waits: 1 }), deps);

    expect(queue.enqueued).toHaveLength(1);
    finish();
    await running;
  });

  it('wakes the oldest waiter at once when a slot is given back, with a fresh message of its own', async () => {
    const busy = ownerTask({ type: 'slow' });
    const waiting = ownerTask();
    const { queue, slots, started, finish, deps } = setup([busy, waiting], { maxRunning: 1 });
    const running = runTask(recordOf(busy), deps);
    await started;
    await runTask(recordOf(waiting), deps);

    finish();
    await running;

    const since = expect.any(Number);
    expect(queue.enqueued.map((call) => [call.message, call.options?.delaySeconds])).toEqual([
      [
        {
          taskId: waiting.taskId,
          type: 'work',
          group: GROUP,
          waits: 1,
          waitUntil: expect.any(Number),
          waitSince: since,
        },
        expect.any(Number),
      ],
      [{ taskId: waiting.taskId, type: 'work', group: GROUP, waitSince: since }, undefined],
    ]);
    expect(slots.waiting.get(GROUP)?.size).toBe(0);
  });

  it('keeps a waiting task in its own lane and priority: its fresh message and its wake-up go to the queue it came from', async () => {
    const busy = ownerTask({ type: 'slow' });
    const waiting = ownerTask({ lane: 'long', priority: 'high' });
    const { queue, slots, started, finish, deps } = setup([busy, waiting], { maxRunning: 1 });
    const running = runTask(recordOf(busy), deps);
    await started;
    // Received from the long lane's high-priority queue: a default-lane queue would run it with that lane's timeout.
    await runTask({ ...recordOf(waiting), from: { lane: 'long', priority: 'high' } }, deps);
    const listed = [...(slots.waiting.get(GROUP)?.values() ?? [])];

    finish();
    await running;

    expect(listed).toEqual([expect.objectContaining({ taskId: waiting.taskId, lane: 'long', priority: 'high' })]);
    expect(queue.enqueued.map((call) => call.message)).toEqual([
      expect.objectContaining({ taskId: waiting.taskId, waits: 1, lane: 'long', priority: 'high' }),
      expect.objectContaining({
        taskId: waiting.taskId,
        lane: 'long',
        priority: 'high',
        waitSince: expect.any(Number),
      }),
    ]);
  });

  it('runs the waiting task once a slot is free again', async () => {
    const first = ownerTask();
    const second = ownerTask();
    const { store, deps } = setup([first, second], { maxRunning: 1 });

    await runTask(recordOf(first), deps);
    await runTask(recordOf(second), deps);

    expect([store.peek(first.taskId)?.status, store.peek(second.taskId)?.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });

  it('takes the slot of a crashed worker once its lease has ended', async () => {
    const crashed = ownerTask();
    const next = ownerTask();
    const { store, slots, clock, deps } = setup([crashed, next], { maxRunning: 1 });
    await slots.acquire(GROUP, crashed.taskId, 1, clock.now(), clock.epochMs + 10_000);

    clock.advance(10_000);
    await runTask(recordOf(next), deps);

    expect(store.peek(next.taskId)?.status).toBe('SUCCEEDED');
  });

  it('counts each owner apart', async () => {
    const busy = ownerTask({ type: 'slow' });
    const other = ownerTask({ ownerGroup: 'group-b' });
    const { store, started, finish, deps } = setup([busy, other], { maxRunning: 1 });
    const running = runTask(recordOf(busy), deps);
    await started;

    await runTask(recordOf(other), deps);

    expect(store.peek(other.taskId)?.status).toBe('SUCCEEDED');
    finish();
    await running;
  });

  it('gives a type with maxRunningPerOwner slots of its own, even with the deployment-wide limit off', async () => {
    const exportTask = ownerTask({ type: 'export' });
    const secondExport = ownerTask({ type: 'export' });
    const { store, queue, slots, clock, deps } = setup([exportTask, secondExport]);
    await slots.acquire(`${GROUP}/export`, exportTask.taskId, 1, clock.now(), clock.epochMs + 60_000);

    await runTask(recordOf(secondExport), deps);

    expect(store.peek(secondExport.taskId)).toMatchObject({ status: 'QUEUED', attempt: 0 });
    expect(queue.enqueued).toHaveLength(1);
  });

  it('runs without slots when no limit applies to the task', async () => {
    const task = ownerTask();
    const { store, slots, deps } = setup([task]);

    await runTask(recordOf(task), deps);

    expect(store.peek(task.taskId)?.status).toBe('SUCCEEDED');
    expect(slots.pools.size).toBe(0);
  });

  it('reads whose a task is when its message does not say (a message from before groups)', async () => {
    const busy = ownerTask({ type: 'slow' });
    const bare = ownerTask();
    const { store, started, finish, deps } = setup([busy, bare], { maxRunning: 1 });
    const running = runTask(recordOf(busy), deps);
    await started;

    await runTask(sqsRecordFactory(JSON.stringify({ taskId: bare.taskId })), deps);

    expect(store.peek(bare.taskId)).toMatchObject({ status: 'QUEUED', attempt: 0 });
    finish();
    await running;
  });

  it('makes a duplicate message of a running task wait for that attempt, without taking a second slot', async () => {
    const task = ownerTask({ type: 'slow' });
    const { queue, slots, clock, started, finish, deps } = setup([task], { maxRunning: 2 });
    const running = runTask(recordOf(task), deps);
    await started;
    const duplicate = recordOf(task);

    await expect(runTask(duplicate, deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(queue.retries).toEqual([{ receiptHandle: duplicate.receiptHandle, delaySeconds: 65 }]);
    expect(slots.holders(GROUP, clock.epochMs)).toEqual([task.taskId]);
    finish();
    await running;
  });

  it('gives the slot back when the task cannot be claimed (finished meanwhile)', async () => {
    const done = ownerTask({ status: 'SUCCEEDED', attempt: 1 });
    const { slots, clock, deps } = setup([done], { maxRunning: 1 });

    await runTask(recordOf(done), deps);

    expect(slots.holders(GROUP, clock.epochMs)).toEqual([]);
  });

  it('gives the slot back when the attempt fails and is retried', async () => {
    const failing = new Map([
      ['work', defineTask({ payload: z.unknown(), run: async () => Promise.reject(new Error('boom')) })],
    ]);
    const task = ownerTask();
    const { store, slots, clock, deps } = setup([task], { maxRunning: 1 }, { registry: failing });

    await expect(runTask(recordOf(task), deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(store.peek(task.taskId)).toMatchObject({ status: 'QUEUED', attempt: 1 });
    expect(slots.holders(GROUP, clock.epochMs)).toEqual([]);
  });

  it('waits on the message itself when its resend fails: one receive, the task still QUEUED', async () => {
    const busy = ownerTask({ type: 'slow' });
    const waiting = ownerTask();
    const { store, queue, started, finish, deps } = setup([busy, waiting], { maxRunning: 1 });
    const running = runTask(recordOf(busy), deps);
    await started;
    queue.failNext('enqueue', new DependencyUnavailableError('task queue'));
    const record = recordOf(waiting);

    await expect(runTask(record, deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(queue.retries.map((call) => call.receiptHandle)).toEqual([record.receiptHandle]);
    expect(store.peek(waiting.taskId)).toMatchObject({ status: 'QUEUED', attempt: 0 });
    finish();
    await running;
  });

  it('still runs the task when its slot cannot be given back: the lease ends it', async () => {
    const task = ownerTask();
    const { store, slots, deps } = setup([task], { maxRunning: 1 });
    slots.failNext('release', new DependencyUnavailableError('fair-share table'));

    await runTask(recordOf(task), deps);

    expect(store.peek(task.taskId)?.status).toBe('SUCCEEDED');
  });
});

describe('slotWaitSeconds', () => {
  it.each([
    [1, 60, 0, 1],
    [1, 60, 0.999, 2],
    [5, 60, 0.999, 32],
    [12, 60, 0.999, 60],
    [12, 900, 0.999, 900],
    [40, 900, 0.5, 451],
  ])('after %i waits, at most %i s, random %d: %i s', (waits, max, random, expected) => {
    expect(slotWaitSeconds(waits, max, () => random)).toBe(expected);
  });
});
