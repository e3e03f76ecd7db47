import { describe, expect, it } from 'vitest';
import { cancelTask } from '../../functions/api/cancel-task.js';
import { planRunAt, RUN_AT_PAST_TOLERANCE_MS } from '../../functions/api/run-at.js';
import { type SubmitTaskDeps, submitTask } from '../../functions/api/submit-task.js';
import { sweepStuckTasks } from '../../functions/recovery/sweep-stuck-tasks.js';
import { fire } from '../../functions/schedule-fire/fire.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { RetryLaterError, runTask } from '../../functions/worker/run-task.js';
import { DependencyUnavailableError, ValidationError } from '../../shared/errors.js';
import { runAtResourceName } from '../../shared/schedule.js';
import { sqsRecordFor } from '../support/factories.js';
import { FakeScheduleService } from '../support/fake-schedule-service.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryScheduleStore } from '../support/in-memory-schedule-store.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const OWNER = 'jwt:alice';
const MINUTE = 60_000;
const LIMITS = { runAtQueueDelayMaxSeconds: 900, maxRunAtDays: 365 };

function setup(overrides: Partial<SubmitTaskDeps> = {}) {
  const store = new InMemoryTaskStore();
  const queue = new FakeTaskQueue();
  const scheduler = new FakeScheduleService();
  const clock = new FakeClock();
  const log = new RecordingLog();
  const registry = createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false });
  const deps: SubmitTaskDeps = {
    store,
    queue,
    registry,
    clock: clock.now,
    log,
    defaultMaxAttempts: 3,
    ttlDays: 7,
    scheduler,
    scheduleLimits: LIMITS,
    ...overrides,
  };
  const worker = {
    ...deps,
    remainingTimeMs: () => 60_000,
    retryBaseDelaySeconds: 2,
    retryMaxDelaySeconds: 300,
    maxResultBytes: 1024,
    leaseGraceMs: 5_000,
  };
  const fireDeps = { ...deps, scheduleStore: new InMemoryScheduleStore() };
  return { store, queue, scheduler, clock, log, deps, worker, fireDeps };
}

const inMinutes = (clock: FakeClock, minutes: number) => new Date(clock.epochMs + minutes * MINUTE).toISOString();

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('planRunAt', () => {
  const now = new Date('2026-11-02T10:00:00.000Z');

  it.each([
    ['now', 0, { viaSchedule: false }],
    ['a few seconds in the past (clock skew)', -RUN_AT_PAST_TOLERANCE_MS / 2, { viaSchedule: false }],
    ['10 minutes ahead', 10 * MINUTE, { delaySeconds: 600, viaSchedule: false }],
    ['exactly the SQS limit ahead', 15 * MINUTE, { delaySeconds: 900, viaSchedule: false }],
    ['just past the SQS limit', 15 * MINUTE + 1_000, { viaSchedule: true }],
    ['a year ahead', 365 * 24 * 60 * MINUTE, { viaSchedule: true }],
  ])('waits for %s', (_when, aheadMs, expected) => {
    const runAt = new Date(now.getTime() + aheadMs).toISOString();
    expect(planRunAt(runAt, now, LIMITS)).toMatchObject({ runAtMs: now.getTime() + aheadMs, ...expected });
  });

  it.each([
    ['in the past', -2 * MINUTE, 'runAt is in the past.'],
    ['beyond a year', (365 * 24 * 60 + 1) * MINUTE, 'runAt is more than 365 days ahead.'],
  ])('refuses a runAt %s', (_when, aheadMs, message) => {
    const runAt = new Date(now.getTime() + aheadMs).toISOString();
    expect(() => planRunAt(runAt, now, LIMITS)).toThrow(expect.objectContaining({ code: 'InvalidRunAt', message }));
  });

  it('normalises an offset to UTC', () => {
    expect(planRunAt('2026-11-02T12:10:00+02:00', now, LIMITS).runAt).toBe('2026-11-02T10:10:00.000Z');
  });
});

describe('submitTask with runAt', () => {
  it('uses the SQS delay up to 15 minutes ahead and shows runAt', async () => {
    const { queue, scheduler, clock, deps } = setup();
    const runAt = inMinutes(clock, 10);

    const { task } = await submitTask({ ownerId: OWNER, type: 'echo', payload: {}, runAt }, deps);

    expect(task).toMatchObject({ status: 'QUEUED', runAt, runAtMs: Date.parse(runAt), delaySeconds: 600 });
    expect(task.runAtSchedule).toBeUndefined();
    expect(queue.enqueued).toEqual([
      {
        message: { taskId: task.taskId, type: 'echo', lane: 'default', priority: 'normal' },
        options: { delaySeconds: 600 },
      },
    ]);
    expect(scheduler.calls).toEqual([]);
  });

  it('leaves a runAt further ahead to a one-time schedule that deletes itself, and sends no message now', async () => {
    const { queue, scheduler, clock, deps } = setup();
    const runAt = inMinutes(clock, 20);

    const { task } = await submitTask({ ownerId: OWNER, type: 'echo', payload: {}, runAt }, deps);

    expect(task).toMatchObject({ status: 'QUEUED', runAt, runAtMs: Date.parse(runAt) });
    expect(task.runAtSchedule).toBe(runAtResourceName(task.taskId));
    expect(queue.enqueued).toEqual([]);
    expect(scheduler.definitions.get(runAtResourceName(task.taskId))).toEqual({
      name: runAtResourceName(task.taskId),
      // Rounded up to the whole second: never early.
      expression: 'at(2026-11-02T10:20:01)',
      timezone: 'UTC',
      enabled: true,
      target: { kind: 'runAt', taskId: task.taskId },
      deleteAfterCompletion: true,
    });
  });

  it('keeps a task waiting far ahead at least ttlDays past its runAt', async () => {
    const { clock, deps } = setup();
    const runAt = inMinutes(clock, 30 * 24 * 60);

    const { task } = await submitTask({ ownerId: OWNER, type: 'echo', payload: {}, runAt }, deps);

    expect(task.expiresAt).toBeGreaterThanOrEqual(Date.parse(runAt) / 1000 + 7 * 86_400);
  });

  it('takes the record back when the one-time schedule cannot be created', async () => {
    const { store, scheduler, clock, deps } = setup({ newTaskId: () => '00000000-0000-4000-8000-000000000001' });
    scheduler.failNext(new DependencyUnavailableError('scheduler'));

    const error = await rejectionOf(
      submitTask({ ownerId: OWNER, type: 'echo', payload: {}, runAt: inMinutes(clock, 20) }, deps),
    );

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(store.size).toBe(0);
  });

  it('puts the one-time schedule again on an idempotent replay, never a second task', async () => {
    const { store, scheduler, clock, deps } = setup();
    const body = { ownerId: OWNER, type: 'echo', payload: {}, runAt: inMinutes(clock, 20), idempotencyKey: 'k' };
    const first = await submitTask(body, deps);
    scheduler.definitions.clear();

    const replay = await submitTask(body, deps);

    expect(replay).toMatchObject({ created: false, task: { taskId: first.task.taskId } });
    expect(store.size).toBe(1);
    expect(scheduler.definitions.has(runAtResourceName(first.task.taskId))).toBe(true);
  });

  it.each([
    [{ delaySeconds: 5 }, 'InvalidRequest'],
    [{ runAt: '2020-01-01T00:00:00Z' }, 'InvalidRunAt'],
  ])('refuses %j and records nothing', async (extra, code) => {
    const { store, clock, deps } = setup();
    const body = { ownerId: OWNER, type: 'echo', payload: {}, runAt: inMinutes(clock, 20), ...extra };

    const error = await rejectionOf(submitTask(body, deps));

    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code });
    expect(store.size).toBe(0);
  });
});

describe('a task with runAt 20 minutes ahead, on a simulated clock', () => {
  it('stays QUEUED until its schedule fires, then runs once', async () => {
    const { store, queue, scheduler, clock, deps, worker, fireDeps } = setup();
    const { task } = await submitTask(
      { ownerId: OWNER, type: 'echo', payload: { hi: 1 }, runAt: inMinutes(clock, 20) },
      deps,
    );

    // A stray message (a duplicate, say) two minutes in: the claim waits for runAt.
    clock.advance(2 * MINUTE);
    await expect(runTask(sqsRecordFor(task), worker)).rejects.toThrow(RetryLaterError);
    expect(store.peek(task.taskId)).toMatchObject({ status: 'QUEUED', attempt: 0 });
    expect((await sweepStuckTasks({ ...deps, ttlDays: 7, staleAfterSeconds: 0 }, { all: true })).requeued).toBe(0);

    // Its time: Scheduler fires the one-time schedule, which deletes itself; the message runs the task.
    clock.advance(18 * MINUTE + 1_000);
    const definition = scheduler.definitions.get(runAtResourceName(task.taskId));
    expect(definition?.deleteAfterCompletion).toBe(true);
    expect(await fire({ ...definition?.target, scheduledTime: inMinutes(clock, 0) }, fireDeps)).toEqual({
      outcome: 'enqueued',
      taskId: task.taskId,
    });
    const message = queue.enqueued.at(-1);
    expect(message?.message).toEqual({ taskId: task.taskId, type: 'echo', lane: 'default', priority: 'normal' });
    await runTask(sqsRecordFor(task), worker);

    expect(store.peek(task.taskId)).toMatchObject({ status: 'SUCCEEDED', attempt: 1, result: { hi: 1 } });
    // A repeated firing finds it finished and sends nothing.
    const sent = queue.enqueued.length;
    expect(await fire({ kind: 'runAt', taskId: task.taskId, scheduledTime: 'x' }, fireDeps)).toMatchObject({
      outcome: 'skipped',
    });
    expect(queue.enqueued).toHaveLength(sent);
  });

  it('cancelled before then: its schedule is deleted, and a firing that comes anyway runs nothing', async () => {
    const { store, queue, scheduler, clock, deps, fireDeps } = setup();
    const { task } = await submitTask({ ownerId: OWNER, type: 'echo', payload: {}, runAt: inMinutes(clock, 20) }, deps);

    clock.advance(5 * MINUTE);
    const cancelled = await cancelTask({ ownerId: OWNER, taskId: task.taskId }, { ...deps, scheduler });

    expect(cancelled.status).toBe('CANCELLED');
    expect(scheduler.definitions.has(runAtResourceName(task.taskId))).toBe(false);
    clock.advance(15 * MINUTE);
    expect(await fire({ kind: 'runAt', taskId: task.taskId, scheduledTime: 'x' }, fireDeps)).toMatchObject({
      outcome: 'skipped',
    });
    expect(queue.enqueued).toEqual([]);
    expect(store.peek(task.taskId)?.status).toBe('CANCELLED');
  });

  it('is cancelled even when its schedule cannot be deleted (the firing then finds it CANCELLED)', async () => {
    const { scheduler, clock, deps } = setup();
    const { task } = await submitTask({ ownerId: OWNER, type: 'echo', payload: {}, runAt: inMinutes(clock, 20) }, deps);
    scheduler.failNext(new DependencyUnavailableError('scheduler'));

    expect((await cancelTask({ ownerId: OWNER, taskId: task.taskId }, { ...deps, scheduler })).status).toBe(
      'CANCELLED',
    );
  });

  it('is re-enqueued by the recovery sweep only once its runAt is long past (a lost firing)', async () => {
    const { queue, clock, deps } = setup();
    const { task } = await submitTask({ ownerId: OWNER, type: 'echo', payload: {}, runAt: inMinutes(clock, 20) }, deps);
    const sweep = () => sweepStuckTasks({ ...deps, ttlDays: 7, staleAfterSeconds: 45 * 60 });

    clock.advance(60 * MINUTE);
    expect((await sweep()).requeued).toBe(0);
    clock.advance(10 * MINUTE);
    expect((await sweep()).requeuedTaskIds).toEqual([task.taskId]);
    expect(queue.enqueued.at(-1)?.message.taskId).toBe(task.taskId);
  });
});
