import { describe, expect, it } from 'vitest';
import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  type ScheduleDeps,
  updateSchedule,
} from '../../functions/api/schedules.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { ConflictError, DependencyUnavailableError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { scheduleResourceName } from '../../shared/schedule.js';
import { FakeScheduleService } from '../support/fake-schedule-service.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryScheduleStore } from '../support/in-memory-schedule-store.js';

const ALICE = 'jwt:alice';
const BOB = 'jwt:bob';

function setup(overrides: Partial<ScheduleDeps> = {}) {
  const scheduleStore = new InMemoryScheduleStore();
  const scheduler = new FakeScheduleService();
  // 2026-11-02T10:00:00.750Z, a Monday.
  const clock = new FakeClock();
  const deps: ScheduleDeps = {
    scheduleStore,
    scheduler,
    registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
    clock: clock.now,
    log: new RecordingLog(),
    maxPerOwner: 100,
    ...overrides,
  };
  return { scheduleStore, scheduler, clock, deps };
}

const nightly = (overrides: Record<string, unknown> = {}) => ({
  name: 'nightly',
  expression: 'cron(0 2 * * ? *)',
  timezone: 'Europe/Berlin',
  task: { type: 'echo', payload: { report: 'daily' } },
  ...overrides,
});

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('createSchedule', () => {
  it('records the schedule, gives Scheduler its timing under a hashed name, and shows the next run', async () => {
    const { scheduleStore, scheduler, deps } = setup();

    const view = await createSchedule({ ownerId: ALICE, body: nightly() }, deps);

    expect(view).toEqual({
      name: 'nightly',
      expression: 'cron(0 2 * * ? *)',
      timezone: 'Europe/Berlin',
      task: { type: 'echo', payload: { report: 'daily' } },
      enabled: true,
      createdAt: '2026-11-02T10:00:00.750Z',
      updatedAt: '2026-11-02T10:00:00.750Z',
      // 02:00 in Berlin (UTC+1 in November) the next night.
      nextRunAt: '2026-11-03T01:00:00.000Z',
    });
    expect(await scheduleStore.get(ALICE, 'nightly')).toMatchObject({ ownerId: ALICE, name: 'nightly' });
    const name = scheduleResourceName(ALICE, 'nightly');
    expect(name).toMatch(/^s-[0-9a-f]{40}$/);
    expect(scheduler.definitions.get(name)).toEqual({
      name,
      expression: 'cron(0 2 * * ? *)',
      timezone: 'Europe/Berlin',
      enabled: true,
      target: { kind: 'schedule', ownerId: ALICE, name: 'nightly' },
    });
  });

  it('reads a rate from now, in UTC unless told otherwise, and defaults the payload to {}', async () => {
    const { deps } = setup();

    const view = await createSchedule(
      { ownerId: ALICE, body: { name: 'often', expression: 'rate(5 minutes)', task: { type: 'echo' } } },
      deps,
    );

    expect(view).toMatchObject({ timezone: 'UTC', task: { type: 'echo', payload: {} } });
    expect(view.nextRunAt).toBe('2026-11-02T10:00:00.750Z');
  });

  it('keeps a task’s callback URL as its check returns it, and a lane the deployment has', async () => {
    const { scheduleStore, deps } = setup({
      lanes: ['default', 'long'],
      checkCallbackUrl: async (url) => `${url}/checked`,
    });

    await createSchedule(
      {
        ownerId: ALICE,
        body: nightly({ task: { type: 'echo', lane: 'long', callbackUrl: 'https://hooks.example.com/x' } }),
      },
      deps,
    );

    expect((await scheduleStore.get(ALICE, 'nightly'))?.task).toMatchObject({
      lane: 'long',
      callbackUrl: 'https://hooks.example.com/x/checked',
    });
  });

  it('starts a disabled schedule without a next run', async () => {
    const { scheduler, deps } = setup();

    const view = await createSchedule({ ownerId: ALICE, body: nightly({ enabled: false }) }, deps);

    expect(view.nextRunAt).toBeUndefined();
    expect([...scheduler.definitions.values()][0]?.enabled).toBe(false);
  });

  it.each([
    ['a malformed expression', { expression: 'cron(0 2 * * *)' }, 'InvalidExpression', 'expression'],
    ['a rate under a minute', { expression: 'rate(30 seconds)' }, 'InvalidExpression', 'expression'],
    ['rate(0 minutes)', { expression: 'rate(0 minutes)' }, 'InvalidExpression', 'expression'],
    ['an unknown time zone', { timezone: 'Mars/Olympus_Mons' }, 'InvalidTimeZone', 'timezone'],
    [
      'endAt before startAt',
      { startAt: '2026-12-02T00:00:00Z', endAt: '2026-12-01T00:00:00Z' },
      'InvalidScheduleWindow',
      'endAt',
    ],
    ['endAt in the past', { endAt: '2026-11-01T00:00:00Z' }, 'InvalidScheduleWindow', 'endAt'],
    ['startAt in the past', { startAt: '2026-11-01T00:00:00Z' }, 'InvalidScheduleWindow', 'startAt'],
    ['an unknown task type', { task: { type: 'nope' } }, 'UnknownTaskType', 'task.type'],
    ['an invalid payload', { task: { type: 'sleep', payload: { ms: 'x' } } }, 'InvalidPayload', 'task.payload.ms'],
    ['a name Scheduler would refuse', { name: 'night ly' }, 'InvalidRequest', 'name'],
    ['a timing field on the task', { task: { type: 'echo', delaySeconds: 5 } }, 'InvalidRequest', 'task'],
    ['an upload reference on the task', { task: { type: 'echo', payloadRef: 'x' } }, 'InvalidRequest', 'task'],
    ['a lane the deployment lacks', { task: { type: 'echo', lane: 'gpu' } }, 'UnknownLane', 'task.lane'],
    [
      'a callback URL where callbacks are off',
      { task: { type: 'echo', callbackUrl: 'https://hooks.example.com/x' } },
      'InvalidCallbackUrl',
      'task.callbackUrl',
    ],
    ['an unknown field', { cron: 'x' }, 'InvalidRequest', '(root)'],
  ])('refuses %s with a clear 400 and creates nothing', async (_what, overrides, code, path) => {
    const { scheduleStore, scheduler, deps } = setup();

    const error = await rejectionOf(createSchedule({ ownerId: ALICE, body: nightly(overrides) }, deps));

    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code });
    expect((error as ValidationError).details.map((d) => d.path).join(' ')).toContain(path);
    expect(await scheduleStore.count(ALICE)).toBe(0);
    expect(scheduler.calls).toEqual([]);
  });

  it("refuses a second schedule of the same name, but not another owner's", async () => {
    const { deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);

    const error = await rejectionOf(createSchedule({ ownerId: ALICE, body: nightly() }, deps));
    const bobs = await createSchedule({ ownerId: BOB, body: nightly({ expression: 'rate(1 hour)' }) }, deps);

    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'ScheduleExists' });
    expect(bobs.expression).toBe('rate(1 hour)');
    expect(scheduleResourceName(ALICE, 'nightly')).not.toBe(scheduleResourceName(BOB, 'nightly'));
  });

  it('refuses one schedule more than an owner may have, and leaves nothing of it', async () => {
    const { scheduleStore, scheduler, deps } = setup({ maxPerOwner: 2 });
    await createSchedule({ ownerId: ALICE, body: nightly({ name: 'a' }) }, deps);
    await createSchedule({ ownerId: ALICE, body: nightly({ name: 'b' }) }, deps);

    const error = await rejectionOf(createSchedule({ ownerId: ALICE, body: nightly({ name: 'c' }) }, deps));
    await createSchedule({ ownerId: BOB, body: nightly({ name: 'c' }) }, deps);

    expect(error).toMatchObject({ code: 'TooManySchedules' });
    expect(await scheduleStore.get(ALICE, 'c')).toBeUndefined();
    expect(scheduler.definitions.has(scheduleResourceName(ALICE, 'c'))).toBe(false);
  });

  it('takes the record back when Scheduler cannot be reached, so a retry starts afresh', async () => {
    const { scheduleStore, scheduler, deps } = setup();
    scheduler.failNext(new DependencyUnavailableError('scheduler'));

    const error = await rejectionOf(createSchedule({ ownerId: ALICE, body: nightly() }, deps));

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(await scheduleStore.get(ALICE, 'nightly')).toBeUndefined();
    expect((await createSchedule({ ownerId: ALICE, body: nightly() }, deps)).name).toBe('nightly');
  });
});

describe('getSchedule and listSchedules', () => {
  it("answers another owner's schedule exactly like a missing one", async () => {
    const { deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);

    const other = await rejectionOf(getSchedule({ ownerId: BOB, name: 'nightly' }, deps));
    const missing = await rejectionOf(getSchedule({ ownerId: BOB, name: 'never' }, deps));
    const malformed = await rejectionOf(getSchedule({ ownerId: ALICE, name: '../nightly' }, deps));

    expect(other).toBeInstanceOf(NotFoundError);
    expect(other).toEqual(missing);
    expect(malformed).toEqual(missing);
    expect((await getSchedule({ ownerId: ALICE, name: 'nightly' }, deps)).name).toBe('nightly');
  });

  it('lists only the caller’s schedules, by name, a page at a time, without payloads', async () => {
    const { deps } = setup();
    for (const name of ['c', 'a', 'b']) await createSchedule({ ownerId: ALICE, body: nightly({ name }) }, deps);
    await createSchedule({ ownerId: BOB, body: nightly({ name: 'bobs' }) }, deps);

    const first = await listSchedules({ ownerId: ALICE, query: { limit: '2' } }, deps);
    const second = await listSchedules({ ownerId: ALICE, query: { limit: '2', cursor: first.nextCursor } }, deps);

    expect(first.schedules.map((s) => s.name)).toEqual(['a', 'b']);
    expect(first.schedules[0]?.task).toEqual({ type: 'echo' });
    expect(second.schedules.map((s) => s.name)).toEqual(['c']);
    expect((await listSchedules({ ownerId: BOB, query: {} }, deps)).schedules.map((s) => s.name)).toEqual(['bobs']);
  });

  it('refuses a cursor issued to another owner, or made up, as InvalidCursor', async () => {
    const { deps } = setup();
    for (const name of ['a', 'b']) await createSchedule({ ownerId: ALICE, body: nightly({ name }) }, deps);
    const { nextCursor } = await listSchedules({ ownerId: ALICE, query: { limit: '1' } }, deps);
    const forged = Buffer.from(JSON.stringify({ ownerId: BOB, name: '../x' })).toString('base64url');

    for (const cursor of [nextCursor, forged, 'not-base64-json']) {
      expect(await rejectionOf(listSchedules({ ownerId: BOB, query: { cursor } }, deps))).toMatchObject({
        code: 'InvalidCursor',
      });
    }
  });
});

describe('updateSchedule', () => {
  it('disables a schedule: Scheduler stops it and the view has no next run', async () => {
    const { scheduler, deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);

    const view = await updateSchedule({ ownerId: ALICE, name: 'nightly', body: { enabled: false } }, deps);

    expect(view).toMatchObject({ enabled: false, expression: 'cron(0 2 * * ? *)' });
    expect(view.nextRunAt).toBeUndefined();
    expect(scheduler.definitions.get(scheduleResourceName(ALICE, 'nightly'))?.enabled).toBe(false);
  });

  it('changes the task in the table alone: the next firing reads it, Scheduler need not know', async () => {
    const { scheduleStore, scheduler, deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);
    scheduler.calls.length = 0;

    await updateSchedule(
      { ownerId: ALICE, name: 'nightly', body: { task: { type: 'sleep', payload: { ms: 5 } } } },
      deps,
    );

    expect((await scheduleStore.get(ALICE, 'nightly'))?.task).toEqual({ type: 'sleep', payload: { ms: 5 } });
    expect(scheduler.calls).toEqual([]);
  });

  it('changes expression and time zone in both places', async () => {
    const { scheduler, deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);

    const view = await updateSchedule(
      { ownerId: ALICE, name: 'nightly', body: { expression: 'cron(30 6 ? * MON-FRI *)', timezone: 'UTC' } },
      deps,
    );

    expect(view.nextRunAt).toBe('2026-11-03T06:30:00.000Z');
    expect(scheduler.definitions.get(scheduleResourceName(ALICE, 'nightly'))).toMatchObject({
      expression: 'cron(30 6 ? * MON-FRI *)',
      timezone: 'UTC',
    });
  });

  it.each([
    [{ expression: 'rate(1 minutes)' }, 'InvalidExpression'],
    [{ timezone: 'Nowhere/Town' }, 'InvalidTimeZone'],
    [{ task: { type: 'sleep', payload: { ms: -1 } } }, 'InvalidPayload'],
    [{}, 'InvalidRequest'],
    [{ name: 'renamed' }, 'InvalidRequest'],
  ])('refuses %j and changes nothing', async (body, code) => {
    const { scheduleStore, deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);
    const before = await scheduleStore.get(ALICE, 'nightly');

    expect(await rejectionOf(updateSchedule({ ownerId: ALICE, name: 'nightly', body }, deps))).toMatchObject({ code });
    expect(await scheduleStore.get(ALICE, 'nightly')).toEqual(before);
  });

  it('puts the record back when Scheduler refuses the change', async () => {
    const { scheduleStore, scheduler, deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);
    scheduler.failNext(new DependencyUnavailableError('scheduler'));

    await rejectionOf(updateSchedule({ ownerId: ALICE, name: 'nightly', body: { enabled: false } }, deps));

    expect((await scheduleStore.get(ALICE, 'nightly'))?.enabled).toBe(true);
  });

  it("answers another owner's schedule with 404 and leaves it alone", async () => {
    const { scheduleStore, deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);

    const error = await rejectionOf(updateSchedule({ ownerId: BOB, name: 'nightly', body: { enabled: false } }, deps));

    expect(error).toBeInstanceOf(NotFoundError);
    expect((await scheduleStore.get(ALICE, 'nightly'))?.enabled).toBe(true);
  });
});

describe('deleteSchedule', () => {
  it('removes the schedule from Scheduler and the table', async () => {
    const { scheduleStore, scheduler, deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);

    await deleteSchedule({ ownerId: ALICE, name: 'nightly' }, deps);

    expect(scheduler.definitions.size).toBe(0);
    expect(await scheduleStore.get(ALICE, 'nightly')).toBeUndefined();
    expect(await rejectionOf(deleteSchedule({ ownerId: ALICE, name: 'nightly' }, deps))).toBeInstanceOf(NotFoundError);
  });

  it('keeps the record while Scheduler still holds the schedule (the delete failed): nothing half gone', async () => {
    const { scheduleStore, scheduler, deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);
    scheduler.failNext(new DependencyUnavailableError('scheduler'));

    await rejectionOf(deleteSchedule({ ownerId: ALICE, name: 'nightly' }, deps));

    expect(await scheduleStore.get(ALICE, 'nightly')).toBeDefined();
    expect(scheduler.definitions.size).toBe(1);
  });

  it("answers another owner's schedule with 404 and keeps it", async () => {
    const { scheduler, deps } = setup();
    await createSchedule({ ownerId: ALICE, body: nightly() }, deps);

    expect(await rejectionOf(deleteSchedule({ ownerId: BOB, name: 'nightly' }, deps))).toBeInstanceOf(NotFoundError);
    expect(scheduler.definitions.size).toBe(1);
  });
});
