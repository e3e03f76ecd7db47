import { describe, expect, it } from 'vitest';
import { sweepStuckTasks } from '../../functions/recovery/sweep-stuck-tasks.js';
import { redriveDeadLetters } from '../../infra/ops/redrive-dead-letters.js';
import type { Task } from '../../shared/task.js';
import { taskFactory } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const MINUTE = 60_000;

function setup(tasks: Task[]) {
  const clock = new FakeClock();
  const store = new InMemoryTaskStore(tasks);
  const queue = new FakeTaskQueue();
  return { clock, store, queue, deps: { store, queue, clock: clock.now, log: new RecordingLog() } };
}

describe('sweepStuckTasks', () => {
  const clock = new FakeClock();
  const ago = (minutes: number) => new Date(clock.epochMs - minutes * MINUTE).toISOString();

  it.each([
    ['QUEUED for longer than the threshold', { status: 'QUEUED', updatedAt: ago(31) }, true],
    [
      'QUEUED recently (its message may still be delayed or backing off)',
      { status: 'QUEUED', updatedAt: ago(29) },
      false,
    ],
    [
      'RUNNING with a lease that ended long ago',
      { status: 'RUNNING', leaseExpiresAt: clock.epochMs - 31 * MINUTE },
      true,
    ],
    ['RUNNING with a lease that ended recently', { status: 'RUNNING', leaseExpiresAt: clock.epochMs - MINUTE }, false],
    ['RUNNING under a live lease', { status: 'RUNNING', leaseExpiresAt: clock.epochMs + MINUTE }, false],
    ['SUCCEEDED long ago', { status: 'SUCCEEDED', updatedAt: ago(999) }, false],
  ] as const)('re-enqueues a task %s: %s', async (_case, overrides, expected) => {
    const task = taskFactory(overrides);
    const { queue, deps } = setup([task]);

    const report = await sweepStuckTasks({ ...deps, ttlDays: 7, staleAfterSeconds: 30 * 60 });

    expect(report.requeued).toBe(expected ? 1 : 0);
    expect(queue.enqueued.map((call) => call.message)).toEqual(
      expected ? [{ taskId: task.taskId, type: task.type, lane: 'default', priority: 'normal' }] : [],
    );
  });

  it('leaves a task waiting for its owner’s slot until its noted wait is stale, then says it was waiting', async () => {
    const waitingUntil = (minutes: number) => clock.epochMs - minutes * MINUTE;
    const recent = taskFactory({ status: 'QUEUED', updatedAt: ago(90), waitingUntilMs: waitingUntil(29) });
    const lagging = taskFactory({ status: 'QUEUED', updatedAt: ago(90), waitingUntilMs: waitingUntil(31) });
    const lost = taskFactory({ status: 'QUEUED', updatedAt: ago(31) });
    const { deps } = setup([recent, lagging, lost]);

    const report = await sweepStuckTasks({ ...deps, ttlDays: 7, staleAfterSeconds: 30 * 60 });

    expect([...report.requeuedTaskIds].sort()).toEqual([lagging.taskId, lost.taskId].sort());
    expect(report.requeuedWaitingTaskIds).toEqual([lagging.taskId]);
  });

  it("re-enqueues a stuck task with its owner's group, so fair queues still know whose it is", async () => {
    const task = taskFactory({ status: 'QUEUED', updatedAt: ago(31), ownerGroup: 'group-a' });
    const { queue, deps } = setup([task]);

    await sweepStuckTasks({ ...deps, ttlDays: 7, staleAfterSeconds: 30 * 60 });

    expect(queue.enqueued.map((call) => call.message)).toEqual([
      { taskId: task.taskId, type: task.type, lane: 'default', priority: 'normal', group: 'group-a' },
    ]);
  });

  it('keeps what is left of a delayed task’s delay', async () => {
    const task = taskFactory({
      status: 'QUEUED',
      attempt: 0,
      createdAt: ago(0.5),
      updatedAt: ago(0.5),
      delaySeconds: 120,
      runAtMs: Date.parse(ago(0.5)) + 120_000,
    });
    const { queue, deps } = setup([task]);

    await sweepStuckTasks({ ...deps, ttlDays: 7, staleAfterSeconds: 1800 }, { all: true });

    expect(queue.enqueued[0]?.options).toEqual({ delaySeconds: 90 });
  });

  it('re-enqueues everything unfinished, even under a live lease, when asked for all (restart with an empty queue)', async () => {
    const tasks = [
      taskFactory({ status: 'QUEUED' }),
      taskFactory({ status: 'RUNNING', leaseExpiresAt: clock.epochMs + MINUTE }),
      taskFactory({ status: 'CANCELLED' }),
    ];
    const { deps } = setup(tasks);

    const report = await sweepStuckTasks({ ...deps, ttlDays: 7, staleAfterSeconds: 1800 }, { all: true });

    expect(report).toEqual({
      scanned: 2,
      requeued: 2,
      requeuedTaskIds: [tasks[0]?.taskId, tasks[1]?.taskId],
      requeuedWaitingTaskIds: [],
      expired: 0,
    });
  });

  it('ends an unfinished task past its time to live FAILED Expired instead of re-enqueuing it', async () => {
    const pastTtl = Math.floor(clock.epochMs / 1000) - 60;
    const queued = taskFactory({ status: 'QUEUED', updatedAt: ago(60 * 24 * 8), expiresAt: pastTtl });
    const waiting = taskFactory({
      status: 'QUEUED',
      updatedAt: ago(60),
      waitingUntilMs: clock.epochMs,
      expiresAt: pastTtl,
    });
    const { store, queue, deps } = setup([queued, waiting]);

    const report = await sweepStuckTasks({ ...deps, ttlDays: 7, staleAfterSeconds: 30 * 60 });

    expect(report).toMatchObject({ expired: 2, requeued: 0 });
    expect(queue.enqueued).toEqual([]);
    for (const task of [queued, waiting]) {
      expect(store.peek(task.taskId)).toMatchObject({
        status: 'FAILED',
        error: { code: 'Expired' },
        expiresAt: Math.floor(clock.epochMs / 1000) + 7 * 86_400,
      });
    }
  });
});

describe('redriveDeadLetters', () => {
  const deadLettered = () =>
    taskFactory({ status: 'FAILED', attempt: 5, maxAttempts: 3, error: { code: 'DeadLettered', message: 'x' } });

  it('re-queues every dead-lettered task with a fresh attempt budget, and only those', async () => {
    const dead = deadLettered();
    const failedOtherwise = taskFactory({ status: 'FAILED', error: { code: 'BadInput', message: 'no' } });
    const { store, queue, deps } = setup([dead, failedOtherwise]);

    const requeued = await redriveDeadLetters({ extraAttempts: 3 }, deps);

    expect(requeued).toEqual([dead.taskId]);
    expect(store.peek(dead.taskId)).toMatchObject({ status: 'QUEUED', attempt: 5, maxAttempts: 8 });
    expect(store.peek(dead.taskId)?.error).toBeUndefined();
    expect(queue.enqueued.map((call) => call.message.taskId)).toEqual([dead.taskId]);
    expect(store.peek(failedOtherwise.taskId)?.status).toBe('FAILED');
  });

  it("re-queues a dead-lettered task with its owner's group", async () => {
    const dead = { ...deadLettered(), ownerGroup: 'group-a' };
    const { queue, deps } = setup([dead]);

    await redriveDeadLetters({ extraAttempts: 3 }, deps);

    expect(queue.enqueued.map((call) => call.message)).toEqual([
      { taskId: dead.taskId, type: dead.type, lane: 'default', priority: 'normal', group: 'group-a' },
    ]);
  });

  it('changes nothing on a dry run', async () => {
    const dead = deadLettered();
    const { store, queue, deps } = setup([dead]);

    expect(await redriveDeadLetters({ extraAttempts: 3, dryRun: true }, deps)).toEqual([dead.taskId]);
    expect(store.peek(dead.taskId)?.status).toBe('FAILED');
    expect(queue.enqueued).toEqual([]);
  });

  it('skips named tasks that are not dead-lettered', async () => {
    const running = taskFactory({ status: 'RUNNING' });
    const { queue, deps } = setup([running]);

    expect(await redriveDeadLetters({ taskIds: [running.taskId, 'missing'], extraAttempts: 3 }, deps)).toEqual([]);
    expect(queue.enqueued).toEqual([]);
  });
});
