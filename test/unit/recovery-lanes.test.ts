import { describe, expect, it } from 'vitest';
import { sweepStuckTasks } from '../../functions/recovery/sweep-stuck-tasks.js';
import { redriveDeadLetters } from '../../infra/ops/redrive-dead-letters.js';
import type { Task } from '../../shared/task.js';
import { taskFactory } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const MINUTE = 60_000;
const clock = new FakeClock();
const ago = (minutes: number) => new Date(clock.epochMs - minutes * MINUTE).toISOString();

function setup(tasks: Task[]) {
  const store = new InMemoryTaskStore(tasks);
  const queue = new FakeTaskQueue();
  return { store, queue, deps: { store, queue, clock: clock.now, log: new RecordingLog() } };
}

describe('sweepStuckTasks across lanes', () => {
  // The long lane's crash-looping message takes hours to reach its dead-letter queue: its stale time is longer.
  const staleAfter = { staleAfterSeconds: 45 * 60, staleAfterSecondsByLane: { default: 45 * 60, long: 11 * 3600 } };

  it.each([
    ['a default-lane task silent past its stale time', { updatedAt: ago(46) }, true],
    ['a long-lane task silent as long, within its own stale time', { lane: 'long', updatedAt: ago(46) }, false],
    ['a long-lane task silent past its own stale time', { lane: 'long', updatedAt: ago(11 * 60 + 1) }, true],
    ['a task of a lane the sweep has no stale time for, past the default', { lane: 'gone', updatedAt: ago(46) }, true],
  ] as const)('re-enqueues %s: %s', async (_case, overrides, expected) => {
    const task = taskFactory({ status: 'QUEUED', ...overrides });
    const { deps } = setup([task]);

    const report = await sweepStuckTasks({ ...deps, ttlDays: 7, ...staleAfter });

    expect(report.requeued).toBe(expected ? 1 : 0);
  });

  it('sends a stuck task to its own lane and priority', async () => {
    const task = taskFactory({ status: 'QUEUED', lane: 'long', priority: 'high', updatedAt: ago(12 * 60) });
    const { queue, deps } = setup([task]);

    await sweepStuckTasks({ ...deps, ttlDays: 7, ...staleAfter });

    expect(queue.enqueued.map((call) => call.message)).toEqual([
      { taskId: task.taskId, type: task.type, lane: 'long', priority: 'high' },
    ]);
  });
});

describe('redriveDeadLetters across lanes', () => {
  it('sends a dead-lettered task back to its own lane and priority', async () => {
    const dead = taskFactory({
      status: 'FAILED',
      attempt: 5,
      lane: 'long',
      priority: 'high',
      error: { code: 'DeadLettered', message: 'x' },
    });
    const { queue, deps } = setup([dead]);

    await redriveDeadLetters({ extraAttempts: 3 }, deps);

    expect(queue.enqueued.map((call) => call.message)).toEqual([
      { taskId: dead.taskId, type: dead.type, lane: 'long', priority: 'high' },
    ]);
  });
});
