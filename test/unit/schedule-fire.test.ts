import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type FireDeps, fire, INVALID_SCHEDULED_TASK_CODE } from '../../functions/schedule-fire/fire.js';
import { defineTask, type TaskRegistry } from '../../functions/tasks/define-task.js';
import type { Schedule } from '../../shared/schedule.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryScheduleStore } from '../support/in-memory-schedule-store.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const ALICE = 'jwt:alice';
const report: TaskRegistry = new Map([
  ['report', defineTask({ payload: z.strictObject({ day: z.string() }), run: async () => ({}) })],
]);

const schedule = (overrides: Partial<Schedule> = {}): Schedule => ({
  ownerId: ALICE,
  name: 'nightly',
  expression: 'cron(0 2 * * ? *)',
  timezone: 'UTC',
  task: { type: 'report', payload: { day: 'today' } },
  enabled: true,
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-01T00:00:00.000Z',
  timingSetAt: '2026-11-01T00:00:00.000Z',
  lastWriteId: 'w1',
  ...overrides,
});

function setup(schedules: Schedule[] = [schedule()], registry: TaskRegistry = report) {
  const store = new InMemoryTaskStore();
  const queue = new FakeTaskQueue();
  const clock = new FakeClock();
  const scheduleStore = new InMemoryScheduleStore(schedules);
  const deps: FireDeps = {
    store,
    queue,
    scheduleStore,
    registry,
    clock: clock.now,
    log: new RecordingLog(),
    defaultMaxAttempts: 3,
    ttlDays: 7,
  };
  return { store, queue, clock, scheduleStore, deps };
}

const firing = (scheduledTime = '2026-11-02T02:00:00Z', name = 'nightly') => ({
  kind: 'schedule',
  ownerId: ALICE,
  name,
  scheduledTime,
});

describe('fire (a schedule)', () => {
  it('submits the schedule’s task QUEUED for its owner, enqueued, naming the schedule', async () => {
    const { store, queue, deps } = setup();

    const result = await fire(firing(), deps);

    expect(result).toMatchObject({ outcome: 'submitted' });
    const taskId = (result as { taskId: string }).taskId;
    expect(store.peek(taskId)).toMatchObject({
      ownerId: ALICE,
      type: 'report',
      payload: { day: 'today' },
      status: 'QUEUED',
      scheduleName: 'nightly',
    });
    expect(queue.enqueued).toEqual([
      { message: { taskId, type: 'report', lane: 'default', priority: 'normal' }, options: {} },
    ]);
  });

  it('submits a task that carries the schedule’s callback URL, checked again at the firing', async () => {
    const url = 'https://hooks.example.com/done';
    const { store, deps } = setup([
      schedule({ task: { type: 'report', payload: { day: 'today' }, callbackUrl: url } }),
    ]);

    const result = await fire(firing(), { ...deps, checkCallbackUrl: async (checked) => checked });

    expect(result).toMatchObject({ outcome: 'submitted' });
    expect(store.peek((result as { taskId: string }).taskId)?.callback).toEqual({ url });
  });

  it('creates no second task when the same firing comes again, and one task per scheduled time', async () => {
    const { store, deps } = setup();

    const first = await fire(firing('2026-11-02T02:00:00Z'), deps);
    const again = await fire(firing('2026-11-02T02:00:00Z'), deps);
    const nextNight = await fire(firing('2026-11-03T02:00:00Z'), deps);

    expect(again).toEqual({ outcome: 'duplicate', taskId: (first as { taskId: string }).taskId });
    expect(nextNight).toMatchObject({ outcome: 'submitted' });
    expect((nextNight as { taskId: string }).taskId).not.toBe((first as { taskId: string }).taskId);
    expect(store.all().filter((t) => t.scheduleName === 'nightly')).toHaveLength(2);
  });

  it('still creates no second task when the schedule’s task changed between two deliveries of one firing', async () => {
    const { store, scheduleStore, deps } = setup();
    await fire(firing(), deps);
    await scheduleStore.replace(
      schedule({ task: { type: 'report', payload: { day: 'other' } }, lastWriteId: 'w2' }),
      'w1',
    );

    expect(await fire(firing(), deps)).toMatchObject({ outcome: 'duplicate' });
    expect(store.all()).toHaveLength(1);
  });

  it.each([
    ['deleted', []],
    ['disabled', [schedule({ enabled: false })]],
  ])('submits nothing for a %s schedule', async (_what, schedules) => {
    const { store, queue, deps } = setup(schedules);

    expect(await fire(firing(), deps)).toMatchObject({ outcome: 'skipped' });
    expect(store.all()).toEqual([]);
    expect(queue.enqueued).toEqual([]);
  });

  it.each([
    ['its task type was removed', new Map() as TaskRegistry, 'UnknownTaskType'],
    [
      'its payload no longer matches the schema',
      new Map([['report', defineTask({ payload: z.strictObject({ day: z.number() }), run: async () => ({}) })]]),
      'InvalidPayload',
    ],
  ])('records a FAILED task with a clear code when %s, once per firing', async (_what, registry, cause) => {
    const { store, queue, deps } = setup([schedule()], registry as TaskRegistry);

    const result = await fire(firing(), deps);
    await fire(firing(), deps);

    expect(result).toMatchObject({ outcome: 'invalid' });
    const tasks = store.all();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      ownerId: ALICE,
      status: 'FAILED',
      scheduleName: 'nightly',
      error: { code: INVALID_SCHEDULED_TASK_CODE, message: expect.stringContaining(cause) },
    });
    expect(queue.enqueued).toEqual([]);
  });

  it('drops a malformed firing without throwing (retrying it could not help)', async () => {
    const { deps } = setup();

    expect(await fire({ kind: 'schedule' }, deps)).toEqual({ outcome: 'skipped', reason: 'malformed' });
  });
});
