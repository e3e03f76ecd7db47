import { describe, expect, it } from 'vitest';
import { defineTask, type TaskRegistry } from '../../functions/tasks/define-task.js';
import { RetryLaterError, type RunTaskDeps, runTask } from '../../functions/worker/run-task.js';
import type { QueueRoute } from '../../shared/lanes.js';
import { TASK_COUNTS } from '../../shared/metric-names.js';
import type { Task } from '../../shared/task.js';
import * as z from '../../shared/zod.js';
import { sqsRecordFor, taskFactory } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';
import { RecordingTaskMetrics } from '../support/recording-task-metrics.js';

const LONG_HIGH: QueueRoute = { lane: 'long', priority: 'high' };

const registry: TaskRegistry = new Map([
  [
    'flaky',
    defineTask({
      payload: z.unknown(),
      run: async () => {
        throw new Error('try again');
      },
    }),
  ],
  ['echo', defineTask({ payload: z.unknown(), run: async (payload) => payload })],
]);

function setup(tasks: readonly Task[]) {
  const store = new InMemoryTaskStore(tasks);
  const queue = new FakeTaskQueue();
  const clock = new FakeClock();
  const metrics = new RecordingTaskMetrics();
  const deps: RunTaskDeps = {
    store,
    queue,
    registry,
    clock: clock.now,
    log: new RecordingLog(),
    remainingTimeMs: () => 60_000,
    retryBaseDelaySeconds: 2,
    retryMaxDelaySeconds: 300,
    ttlDays: 7,
    maxResultBytes: 1024,
    leaseGraceMs: 5_000,
    random: () => 0.5,
    metrics,
  };
  return { queue, clock, metrics, deps };
}

describe('runTask in a lane', () => {
  it('delays a retry on the queue its message came from: a high task stays high', async () => {
    const task = taskFactory({ type: 'flaky', lane: 'long', priority: 'high' });
    const { queue, deps } = setup([task]);
    const record = { ...sqsRecordFor(task), from: LONG_HIGH };

    await expect(runTask(record, deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(queue.retries).toEqual([{ receiptHandle: record.receiptHandle, delaySeconds: 1, from: LONG_HIGH }]);
  });

  it('makes a message that finds its task held by a live lease wait on its own queue', async () => {
    const { clock } = setup([]);
    const task = taskFactory({
      type: 'echo',
      status: 'RUNNING',
      attempt: 1,
      lane: 'long',
      priority: 'high',
      leaseExpiresAt: clock.epochMs + 30_000,
    });
    const { queue, deps } = setup([task]);
    const record = { ...sqsRecordFor(task), from: LONG_HIGH };

    await expect(runTask(record, deps)).rejects.toBeInstanceOf(RetryLaterError);

    expect(queue.retries).toEqual([{ receiptHandle: record.receiptHandle, delaySeconds: 30, from: LONG_HIGH }]);
  });

  it('records its events by lane and priority', async () => {
    const task = taskFactory({ type: 'echo', lane: 'long', priority: 'high' });
    const { metrics, deps } = setup([task]);

    await runTask(sqsRecordFor(task), deps);

    expect(metrics.routed.filter((event) => event.name === TASK_COUNTS.succeeded)).toEqual([
      { name: TASK_COUNTS.succeeded, type: 'echo', value: 1, route: LONG_HIGH },
    ]);
  });
});
