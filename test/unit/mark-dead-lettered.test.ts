import { describe, expect, it } from 'vitest';
import { type MarkDeadLetteredDeps, markDeadLettered } from '../../functions/dead-letter/mark-dead-lettered.js';
import { TASK_COUNTS } from '../../shared/metric-names.js';
import type { Task, TaskStatus } from '../../shared/task.js';
import { serializeTaskMessage, taskMessageOf } from '../../shared/task-message.js';
import { sqsRecordFactory, sqsRecordFor, taskFactory } from '../support/factories.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';
import { RecordingTaskMetrics } from '../support/recording-task-metrics.js';

const TTL_DAYS = 7;
const TOLERANCE_MS = 5_000;
const NOW_MS = Date.parse('2026-11-02T10:00:00.750Z');

function setup(tasks: readonly Task[]) {
  const store = new InMemoryTaskStore(tasks);
  const clock = new FakeClock();
  const log = new RecordingLog();
  const deps: MarkDeadLetteredDeps = {
    store,
    clock: clock.now,
    log,
    ttlDays: TTL_DAYS,
    clockToleranceMs: TOLERANCE_MS,
  };
  return { store, clock, log, deps };
}

describe('markDeadLettered', () => {
  it.each<{ case: string; status: TaskStatus; attempt: number; leaseExpiresAt?: number; runAtMs?: number }>([
    { case: 'never claimed', status: 'QUEUED', attempt: 0 },
    { case: 'due for a retry', status: 'QUEUED', attempt: 2, runAtMs: NOW_MS - 1 },
    { case: 'whose backoff ends within the clock tolerance', status: 'QUEUED', attempt: 2, runAtMs: NOW_MS + 4_000 },
    { case: 'past its lease (its worker crashed)', status: 'RUNNING', attempt: 5, leaseExpiresAt: NOW_MS - 1 },
  ])('marks a $status task $case FAILED DeadLettered', async ({ case: _case, ...state }) => {
    const task = taskFactory(state);
    const { store, clock, log, deps } = setup([task]);

    await markDeadLettered(sqsRecordFor(task), deps);

    const stored = store.peek(task.taskId);
    expect(stored).toMatchObject({
      status: 'FAILED',
      attempt: state.attempt,
      error: { code: 'DeadLettered' },
      finishedAt: clock.now().toISOString(),
      updatedAt: clock.now().toISOString(),
      expiresAt: clock.epochSeconds + TTL_DAYS * 86_400,
    });
    expect(stored).not.toHaveProperty('leaseExpiresAt');
    expect(log.at('warn')).toEqual([
      {
        level: 'warn',
        message: 'task dead-lettered',
        data: { taskId: task.taskId, messageId: expect.any(String), status: 'FAILED' },
      },
    ]);
  });

  it('ends FAILED Expired a task past its time to live, which no claim would take any more', async () => {
    const task = taskFactory({ status: 'QUEUED', attempt: 0, expiresAt: Math.floor(NOW_MS / 1000) - 1 });
    const { store, deps } = setup([task]);

    await markDeadLettered(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'Expired' } });
  });

  it('ends CANCELLED a task whose owner asked for a cancel before its attempt was lost', async () => {
    const task = taskFactory({ status: 'RUNNING', attempt: 1, leaseExpiresAt: NOW_MS - 1, cancelRequested: true });
    const { store, log, deps } = setup([task]);

    await markDeadLettered(sqsRecordFor(task), deps);

    const stored = store.peek(task.taskId);
    expect(stored).toMatchObject({ status: 'CANCELLED', cancelRequested: true });
    expect(stored).not.toHaveProperty('error');
    expect(log.at('warn')).toEqual([
      expect.objectContaining({
        message: 'task dead-lettered',
        data: expect.objectContaining({ status: 'CANCELLED' }),
      }),
    ]);
  });

  it.each<{ case: string; state: Partial<Task> }>([
    {
      case: 'an attempt under a live lease',
      state: { status: 'RUNNING', attempt: 1, leaseExpiresAt: NOW_MS + 60_000 },
    },
    { case: 'a retry waiting for its backoff', state: { status: 'QUEUED', attempt: 1, runAtMs: NOW_MS + 60_000 } },
  ])('leaves a task alone that $case still drives: a duplicate message was dead-lettered', async ({ state }) => {
    const task = taskFactory(state);
    const { store, log, deps } = setup([task]);

    await markDeadLettered(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toEqual(task);
    expect(log.at('info').map((entry) => entry.message)).toEqual([
      'dead letter for a task that is still driven: left alone',
    ]);
  });

  it.each<TaskStatus>(['SUCCEEDED', 'FAILED', 'CANCELLED'])('leaves a %s task as it is', async (status) => {
    const task = taskFactory({
      status,
      attempt: 1,
      finishedAt: '2026-11-02T09:59:00.000Z',
      ...(status === 'SUCCEEDED' && { result: { ok: true } }),
      ...(status === 'FAILED' && { error: { code: 'CardDeclined', message: 'declined' } }),
    });
    const { store, log, deps } = setup([task]);

    await markDeadLettered(sqsRecordFor(task), deps);

    expect(store.peek(task.taskId)).toEqual(task);
    expect(log.at('warn')).toEqual([]);
  });

  it('acknowledges a dead letter for a task that no longer exists', async () => {
    const { store, deps } = setup([]);

    await expect(
      markDeadLettered(sqsRecordFor({ taskId: 'f47ac10b-58cc-4372-a567-0e02b2c3d479', type: 'echo' }), deps),
    ).resolves.toBeUndefined();

    expect(store.size).toBe(0);
  });

  it.each(['', 'not json', '{"type":"echo"}', '[]'])(
    'acknowledges and logs a malformed body %j without touching the store',
    async (body) => {
      const { store, log, deps } = setup([]);
      const record = sqsRecordFactory(body);

      await expect(markDeadLettered(record, deps)).resolves.toBeUndefined();

      expect(store.calls).toEqual([]);
      expect(log.at('error')).toEqual([
        { level: 'error', message: 'malformed dead letter: dropped', data: { messageId: record.messageId } },
      ]);
    },
  );

  it('lets a store failure propagate, so the dead letter is delivered again', async () => {
    const task = taskFactory({ status: 'RUNNING', attempt: 1 });
    const { store, deps } = setup([task]);
    const unavailable = new Error('table unavailable');
    store.failNext('failAbandoned', unavailable);

    await expect(markDeadLettered(sqsRecordFor(task), deps)).rejects.toBe(unavailable);

    expect(store.peek(task.taskId)).toEqual(task);
  });
});

describe('markDeadLettered in a lane', () => {
  it('counts the dead letter under the lane and priority its message names', async () => {
    const task = taskFactory({ lane: 'long', priority: 'high' });
    const { deps } = setup([task]);
    const metrics = new RecordingTaskMetrics();

    await markDeadLettered(sqsRecordFactory(serializeTaskMessage(taskMessageOf(task))), { ...deps, metrics });

    expect(metrics.routed).toEqual([
      { name: TASK_COUNTS.deadLettered, type: 'echo', value: 1, route: { lane: 'long', priority: 'high' } },
    ]);
  });
});
