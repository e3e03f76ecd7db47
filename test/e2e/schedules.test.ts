import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { call, listNewest, submit, type TaskBody, waitForTask } from './api-client.js';

/**
 * Schedules and runAt over HTTP. Locally the stack runs with a 1-second rate() minute and hands a runAt
 * beyond 2 s to a one-time schedule (test/e2e/local-test-settings.ts); against a deployed stack
 * (API_URL) the same tests wait for real minutes.
 */
const deployed = Boolean(process.env.API_URL);
/** One rate(1 minute) interval. */
const MINUTE_MS = deployed ? 60_000 : 1_000;
const otherToken = inject('otherApiToken');
const json = { 'content-type': 'application/json' };

interface ScheduleBody {
  name: string;
  enabled: boolean;
  nextRunAt?: string;
  task: { type: string; payload?: unknown };
}

const createSchedule = (body: unknown, token?: string) =>
  call<ScheduleBody>('POST', '/schedules', { body: JSON.stringify(body), headers: json, token });
const schedulePath = (name: string) => `/schedules/${encodeURIComponent(name)}`;

/** The caller's tasks that `name` submitted. */
const tasksOf = async (name: string): Promise<TaskBody[]> =>
  (await listNewest()).filter((task) => (task as TaskBody & { scheduleName?: string }).scheduleName === name);

async function eventually<T>(read: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('a rate(1 minute) schedule', () => {
  it(
    'fires and its tasks succeed; disabled it stops; deleted it is gone; another owner sees none of it',
    async () => {
      const name = `every-minute-${Date.now().toString(36)}`;
      const created = await createSchedule({
        name,
        expression: 'rate(1 minute)',
        task: { type: 'echo', payload: { from: 'schedule' } },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name, enabled: true, nextRunAt: expect.any(String) });

      // Two firings, each a task of its own that runs to the end.
      const fired = await eventually(
        async () => {
          const tasks = await tasksOf(name);
          return tasks.length >= 2 ? tasks : undefined;
        },
        'two firings',
        4 * MINUTE_MS + 10_000,
      );
      for (const task of fired.slice(0, 2)) {
        expect(await waitForTask(task.taskId)).toMatchObject({
          status: 'SUCCEEDED',
          result: { from: 'schedule' },
          scheduleName: name,
        });
      }

      // Another owner: not listed, 404 to read, change or delete; the name is free for them.
      if (otherToken) {
        const listed = await call<{ schedules: ScheduleBody[] }>('GET', '/schedules', { token: otherToken });
        expect(listed.body.schedules.map((s) => s.name)).not.toContain(name);
        expect((await call('GET', schedulePath(name), { token: otherToken })).status).toBe(404);
        const patch = { body: JSON.stringify({ enabled: false }), headers: json, token: otherToken };
        expect((await call('PATCH', schedulePath(name), patch)).status).toBe(404);
        expect((await call('DELETE', schedulePath(name), { token: otherToken })).status).toBe(404);
        expect(
          (await listNewest('', { token: otherToken })).some((t) => fired.some((f) => f.taskId === t.taskId)),
        ).toBe(false);
      }

      // Disabled: no more firings.
      const disabled = await call<ScheduleBody>('PATCH', schedulePath(name), {
        body: JSON.stringify({ enabled: false }),
        headers: json,
      });
      expect(disabled.status).toBe(200);
      expect(disabled.body.enabled).toBe(false);
      expect(disabled.body.nextRunAt).toBeUndefined();
      // A firing already on its way when it was disabled may still land: count after it.
      await sleep(MINUTE_MS);
      const settled = (await tasksOf(name)).length;
      await sleep(2.5 * MINUTE_MS);
      expect((await tasksOf(name)).length).toBe(settled);

      // Deleted: gone from reads and the listing; its tasks stay.
      expect((await call('DELETE', schedulePath(name))).status).toBe(204);
      expect((await call('GET', schedulePath(name))).status).toBe(404);
      const listing = await call<{ schedules: ScheduleBody[] }>('GET', '/schedules?limit=50');
      expect(listing.body.schedules.map((s) => s.name)).not.toContain(name);
      expect((await call<TaskBody>('GET', `/tasks/${fired[0]?.taskId}`)).status).toBe(200);
    },
    deployed ? 600_000 : 60_000,
  );

  it('refuses what Scheduler would refuse, with clear 400s, and creates nothing', async () => {
    const name = `refused-${Date.now().toString(36)}`;
    const cases = [
      [{ expression: 'rate(30 seconds)' }, 'InvalidExpression'],
      [{ expression: 'cron(0 2 * * *)' }, 'InvalidExpression'],
      [{ timezone: 'Atlantis/Capital' }, 'InvalidTimeZone'],
      [{ startAt: '2031-01-02T00:00:00Z', endAt: '2031-01-01T00:00:00Z' }, 'InvalidScheduleWindow'],
      [{ task: { type: 'sleep', payload: { ms: 'long' } } }, 'InvalidPayload'],
    ] as const;
    for (const [overrides, code] of cases) {
      const response = await call<{ error: { code: string } }>('POST', '/schedules', {
        body: JSON.stringify({ name, expression: 'rate(1 hour)', task: { type: 'echo' }, ...overrides }),
        headers: json,
      });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe(code);
    }
    expect((await call('GET', schedulePath(name))).status).toBe(404);
  });
});

describe('POST /tasks with runAt', () => {
  it('keeps a task beyond the SQS delay QUEUED, with runAt shown, until then, and then runs it once', async () => {
    // Locally 6 s is beyond the shortened 2-s hand-over, so a one-time schedule starts it.
    const aheadMs = deployed ? 20 * 60_000 : 6_000;
    const runAt = new Date(Date.now() + aheadMs).toISOString();

    const submitted = await submit({ type: 'echo', payload: { at: 'runAt' }, runAt });

    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ status: 'QUEUED', runAt });
    await sleep(Math.min(aheadMs / 2, 3_000));
    const waiting = await call<TaskBody & { runAt?: string }>('GET', `/tasks/${submitted.body.taskId}`);
    expect(waiting.body).toMatchObject({ status: 'QUEUED', attempts: 0, runAt });

    const finished = await waitForTask(submitted.body.taskId, { timeoutMs: aheadMs + 30_000 });
    expect(finished).toMatchObject({ status: 'SUCCEEDED', attempts: 1, result: { at: 'runAt' } });
    expect(Date.parse((finished as TaskBody & { startedAt: string }).startedAt)).toBeGreaterThanOrEqual(
      Date.parse(runAt),
    );
  }, 1_500_000);

  it('cancels a task waiting for its runAt: it never runs', async () => {
    const runAt = new Date(Date.now() + 4_000).toISOString();
    const submitted = await submit({ type: 'echo', runAt });

    const cancelled = await call<TaskBody>('DELETE', `/tasks/${submitted.body.taskId}`);
    await sleep(6_000);

    expect(cancelled.body.status).toBe('CANCELLED');
    expect((await call<TaskBody>('GET', `/tasks/${submitted.body.taskId}`)).body).toMatchObject({
      status: 'CANCELLED',
      attempts: 0,
    });
  });

  it.each([
    ['in the past', () => new Date(Date.now() - 3_600_000).toISOString()],
    ['beyond a year', () => new Date(Date.now() + 400 * 86_400_000).toISOString()],
  ])('answers a runAt %s with 400 InvalidRunAt', async (_when, runAt) => {
    const response = await submit({ type: 'echo', runAt: runAt() });

    expect(response.status).toBe(400);
    expect((response.body as unknown as { error: { code: string } }).error.code).toBe('InvalidRunAt');
  });
});
