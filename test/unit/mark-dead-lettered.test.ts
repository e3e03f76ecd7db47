import { describe, expect, it } from 'vitest';
import { type MarkDeadLetteredDeps, markDeadLettered } from '../../functions/dead-letter/mark-dead-lettered.js';
import type { Task, TaskStatus } from '../../shared/task.js';
import { sqsRecordFactory, sqsRecordFor, taskFactory } from '../support/factories.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const TTL_DAYS = 7;

function setup(tasks: readonly Task[]) {
  const store = new InMemoryTaskStore(tasks);
  const clock = new FakeClock();
  const log = new RecordingLog();
  const deps: MarkDeadLetteredDeps = { store, clock: clock.now, log, ttlDays: TTL_DAYS };
  return { store, clock, log, deps };
}

describe('markDeadLettered', () => {
  it.each<{ status: TaskStatus; attempt: number; leaseExpiresAt?: number }>([
    { status: 'QUEUED', attempt: 0 },
    { status: 'QUEUED', attempt: 2 },
    { status: 'RUNNING', attempt: 5, leaseExpiresAt: Date.parse('2026-11-02T10:01:00Z') },
  ])('marks a $status task at attempt $attempt FAILED DeadLettered', async (state) => {
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
        data: { taskId: task.taskId, type: task.type, messageId: expect.any(String) },
      },
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
    store.failNext('failUnfinished', unavailable);

    await expect(markDeadLettered(sqsRecordFor(task), deps)).rejects.toBe(unavailable);

    expect(store.peek(task.taskId)).toEqual(task);
  });
});
