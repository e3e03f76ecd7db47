import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cancelTask } from '../../functions/api/cancel-task.js';
import { submitTask } from '../../functions/api/submit-task.js';
import { markDeadLettered } from '../../functions/dead-letter/mark-dead-lettered.js';
import { defineTask, type TaskRegistry } from '../../functions/tasks/define-task.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { type RunTaskDeps, runTask } from '../../functions/worker/run-task.js';
import { PermanentError } from '../../shared/errors.js';
import { LOG_KEYS, RECOVERY_COUNTS, TASK_COUNTS, TASK_TIMINGS } from '../../shared/metric-names.js';
import type { Task } from '../../shared/task.js';
import { sqsRecordFor, TEST_OWNER, taskFactory } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';
import { RecordingTaskMetrics } from '../support/recording-task-metrics.js';

const QUEUED_FOR_MS = 1_500;
const RUNS_FOR_MS = 250;

/** A task type whose handler takes RUNS_FOR_MS on the fake clock, then does what `outcome` says. */
function timedRegistry(clock: FakeClock, outcome: () => unknown): TaskRegistry {
  return new Map([
    [
      'timed',
      defineTask({
        payload: z.unknown(),
        run: async () => {
          clock.advance(RUNS_FOR_MS);
          return outcome();
        },
      }),
    ],
  ]);
}

function worker(tasks: readonly Task[], outcome: () => unknown = () => ({ ok: true })) {
  const clock = new FakeClock();
  const store = new InMemoryTaskStore(tasks);
  const metrics = new RecordingTaskMetrics();
  const log = new RecordingLog();
  // Tasks were submitted QUEUED_FOR_MS ago.
  clock.advance(QUEUED_FOR_MS);
  const deps: RunTaskDeps = {
    store,
    queue: new FakeTaskQueue(),
    registry: timedRegistry(clock, outcome),
    clock: clock.now,
    log,
    metrics,
    remainingTimeMs: () => 60_000,
    retryBaseDelaySeconds: 2,
    retryMaxDelaySeconds: 300,
    ttlDays: 7,
    maxResultBytes: 1024,
    leaseGraceMs: 0,
    random: () => 0,
  };
  return { store, metrics, log, deps };
}

describe('the worker reports task metrics', () => {
  it('counts a start and a success, with the queue wait and the attempt duration', async () => {
    const task = taskFactory({ type: 'timed' });
    const { metrics, deps } = worker([task]);

    await runTask(sqsRecordFor(task), deps);

    expect(metrics.events).toEqual([
      { name: TASK_COUNTS.started, type: 'timed', value: 1 },
      { name: TASK_TIMINGS.queueWaitMs, type: 'timed', value: QUEUED_FOR_MS },
      { name: TASK_TIMINGS.durationMs, type: 'timed', value: RUNS_FOR_MS },
      { name: TASK_COUNTS.succeeded, type: 'timed', value: 1 },
    ]);
  });

  it('measures the queue wait from when a delayed task could first run', async () => {
    const task = taskFactory({ type: 'timed', delaySeconds: 1 });
    const { metrics, deps } = worker([task]);

    await runTask(sqsRecordFor(task), deps);

    const wait = metrics.events.find((event) => event.name === TASK_TIMINGS.queueWaitMs);
    expect(wait?.value).toBe(Math.max(0, QUEUED_FOR_MS - 1_000));
  });

  it('counts a retry, and no queue wait for a later attempt', async () => {
    const task = taskFactory({ type: 'timed', attempt: 1 });
    const { metrics, deps } = worker([task], () => {
      throw new Error('flaky');
    });

    await expect(runTask(sqsRecordFor(task), deps)).rejects.toThrow();

    expect(metrics.names).toEqual([TASK_COUNTS.started, TASK_TIMINGS.durationMs, TASK_COUNTS.retried]);
  });

  it.each([
    ['a permanent error', { attempt: 0 }, () => Promise.reject(new PermanentError('Bad', 'no'))],
    ['the last attempt failing', { attempt: 2 }, () => Promise.reject(new Error('flaky'))],
  ])('counts a failure after %s', async (_case, overrides, outcome) => {
    const task = taskFactory({ type: 'timed', ...overrides });
    const { metrics, deps } = worker([task], outcome);

    await runTask(sqsRecordFor(task), deps);

    expect(metrics.names.at(-1)).toBe(TASK_COUNTS.failed);
    expect(metrics.names.filter((name) => name === TASK_COUNTS.failed)).toHaveLength(1);
  });

  it('counts a cancellation the previous worker did not get to', async () => {
    const task = taskFactory({
      type: 'timed',
      status: 'RUNNING',
      attempt: 1,
      cancelRequested: true,
      leaseExpiresAt: 0,
    });
    const { metrics, deps } = worker([task]);

    await runTask(sqsRecordFor(task), deps);

    // Claimed from RUNNING: the previous attempt's lease had expired, so this is a takeover as well.
    expect(metrics.names).toEqual([TASK_COUNTS.started, RECOVERY_COUNTS.takenOver, TASK_COUNTS.cancelled]);
  });

  it('counts nothing for a duplicate delivery of a finished task', async () => {
    const task = taskFactory({ type: 'timed', status: 'SUCCEEDED', attempt: 1 });
    const { metrics, deps } = worker([task]);

    await runTask(sqsRecordFor(task), deps);

    expect(metrics.events).toEqual([]);
  });

  it('logs every state change with the task id, type, attempt and message id', async () => {
    const task = taskFactory({ type: 'timed' });
    const { log, deps } = worker([task]);
    const delivery = sqsRecordFor(task);

    await runTask(delivery, deps);

    const messages = log.entries.map((entry) => entry.message);
    expect(messages).toEqual(['task started', 'task finished']);
    for (const entry of log.entries) {
      expect(entry.data).toMatchObject({
        [LOG_KEYS.taskId]: task.taskId,
        [LOG_KEYS.type]: 'timed',
        [LOG_KEYS.attempt]: 1,
        [LOG_KEYS.messageId]: delivery.messageId,
      });
    }
  });
});

describe('the API reports task metrics', () => {
  function api(tasks: readonly Task[] = []) {
    const clock = new FakeClock();
    const store = new InMemoryTaskStore(tasks);
    const metrics = new RecordingTaskMetrics();
    const log = new RecordingLog();
    const deps = {
      store,
      queue: new FakeTaskQueue(),
      registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
      clock: clock.now,
      log,
      metrics,
      defaultMaxAttempts: 3,
      ttlDays: 7,
    };
    return { clock, metrics, log, deps };
  }

  it('counts a submission and logs it without the owner', async () => {
    const { metrics, log, deps } = api();

    await submitTask({ ownerId: TEST_OWNER, type: 'echo', payload: {} }, deps);

    expect(metrics.events).toEqual([{ name: TASK_COUNTS.submitted, type: 'echo', value: 1 }]);
    expect(log.entries.find((entry) => entry.message === 'task submitted')).toBeDefined();
    expect(JSON.stringify(log.entries)).not.toContain(TEST_OWNER);
  });

  it('counts nothing for a rejected submission', async () => {
    const { metrics, deps } = api();

    await expect(submitTask({ ownerId: TEST_OWNER, type: 'nope', payload: {} }, deps)).rejects.toThrow();

    expect(metrics.events).toEqual([]);
  });

  it('counts a queued task cancelled once, however often DELETE is repeated', async () => {
    const task = taskFactory({ type: 'echo' });
    const { clock, metrics, log, deps } = api([task]);

    await cancelTask({ ownerId: TEST_OWNER, taskId: task.taskId }, deps);
    clock.advance(1_000);
    await cancelTask({ ownerId: TEST_OWNER, taskId: task.taskId }, deps);

    expect(metrics.events).toEqual([{ name: TASK_COUNTS.cancelled, type: 'echo', value: 1 }]);
    expect(log.entries.map((entry) => entry.message)).toEqual(['task cancelled while queued']);
  });
});

describe('the dead-letter handler reports task metrics', () => {
  it('counts a task it marks FAILED, and nothing for one already finished', async () => {
    const stuck = taskFactory({ type: 'echo', status: 'RUNNING', attempt: 5, leaseExpiresAt: 0 });
    const done = taskFactory({ type: 'echo', status: 'SUCCEEDED', attempt: 1 });
    const metrics = new RecordingTaskMetrics();
    const deps = {
      store: new InMemoryTaskStore([stuck, done]),
      clock: new FakeClock().now,
      log: new RecordingLog(),
      metrics,
      ttlDays: 7,
      clockToleranceMs: 0,
    };

    await markDeadLettered(sqsRecordFor(stuck), deps);
    await markDeadLettered(sqsRecordFor(done), deps);

    expect(metrics.events).toEqual([{ name: TASK_COUNTS.deadLettered, type: 'echo', value: 1 }]);
  });
});
