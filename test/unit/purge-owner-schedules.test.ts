import { describe, expect, it } from 'vitest';
import { purgeOwnerSchedules } from '../../infra/ops/purge-owner-schedules.js';
import { type Schedule, scheduleResourceName } from '../../shared/schedule.js';
import { FakeScheduleService } from '../support/fake-schedule-service.js';
import { InMemoryScheduleStore } from '../support/in-memory-schedule-store.js';

const LEAVER = 'cognito:eu-west-1:11111111-2222-3333-4444-555555555555:eu-west-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

const schedule = (ownerId: string, name: string): Schedule => ({
  ownerId,
  name,
  expression: 'cron(0 2 * * ? *)',
  timezone: 'UTC',
  task: { type: 'echo', payload: {} },
  enabled: true,
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-01T00:00:00.000Z',
  timingSetAt: '2026-11-01T00:00:00.000Z',
  lastWriteId: 'w1',
});

function setup() {
  // More than one page of the owner's, and someone else's.
  const mine = Array.from({ length: 60 }, (_, n) => schedule(LEAVER, `s-${String(n).padStart(2, '0')}`));
  const store = new InMemoryScheduleStore([...mine, schedule('jwt:stayer', 's-00')]);
  const scheduler = new FakeScheduleService();
  return { mine, store, scheduler };
}

describe('purgeOwnerSchedules', () => {
  it('deletes each of the owner’s schedules in Scheduler, then its record, and nobody else’s', async () => {
    const { mine, store, scheduler } = setup();

    const names = await purgeOwnerSchedules(store, scheduler, LEAVER);

    expect(names).toEqual(mine.map((s) => s.name));
    expect(scheduler.calls).toEqual(
      mine.map((s) => ({ method: 'delete', name: scheduleResourceName(LEAVER, s.name) })),
    );
    expect(await store.count(LEAVER)).toBe(0);
    expect(await store.count('jwt:stayer')).toBe(1);
  });

  it('lists them in a dry run and deletes nothing', async () => {
    const { store, scheduler } = setup();

    const names = await purgeOwnerSchedules(store, scheduler, LEAVER, { dryRun: true });

    expect(names).toHaveLength(60);
    expect(scheduler.calls).toEqual([]);
    expect(await store.count(LEAVER)).toBe(60);
  });
});
