import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHandler, createApiHandler } from '../../functions/api/handler.js';
import { createScheduleFireHandler, type ScheduleFireHandler } from '../../functions/schedule-fire/handler.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { runAtResourceName, scheduleResourceName } from '../../shared/schedule.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';
import { useEmulatorEnvironment } from '../support/handler-environment.js';
import { type HttpEventInput, httpApiEvent, testContext } from '../support/lambda-events.js';

/**
 * The schedule routes and the fire function through their Lambda handlers, against dynalite, fauxqs and
 * the Scheduler emulator (whose firings are recorded, not run: the test fires by hand).
 */
let aws: EmulatedAws;
let api: ApiHandler;
let fireHandler: ScheduleFireHandler;

beforeAll(async () => {
  aws = await startEmulatedAws();
  useEmulatorEnvironment(aws);
  api = createApiHandler(demoTaskTypes);
  fireHandler = createScheduleFireHandler(demoTaskTypes);
});
afterAll(() => aws.stop());

const invoke = async (input: HttpEventInput) => {
  const result = (await api(httpApiEvent(input), testContext())) as APIGatewayProxyStructuredResultV2;
  return { ...result, json: result.body ? JSON.parse(String(result.body)) : undefined };
};
const json = { 'content-type': 'application/json' };
const create = (body: unknown, sub: string) =>
  invoke({ routeKey: 'POST /schedules', path: '/schedules', body: JSON.stringify(body), headers: json, jwtSub: sub });
const named = (method: string, name: string, sub: string, body?: unknown) =>
  invoke({
    routeKey: `${method} /schedules/{name}`,
    path: `/schedules/${name}`,
    pathParameters: { name },
    jwtSub: sub,
    ...(body !== undefined && { body: JSON.stringify(body), headers: json }),
  });
const list = (sub: string) => invoke({ routeKey: 'GET /schedules', path: '/schedules', jwtSub: sub });
const schedulerNames = () => aws.scheduler.schedules().map((s) => s.name);

const nightly = { name: 'nightly', expression: 'cron(0 2 * * ? *)', timezone: 'Europe/Berlin', task: { type: 'echo' } };

describe('schedule routes', () => {
  it('creates, reads, lists, changes and deletes a schedule, in the table and in Scheduler', async () => {
    const created = await create(nightly, 'alice');
    expect(created.statusCode).toBe(201);
    expect(created.headers?.location).toBe('/schedules/nightly');
    expect(created.json).toMatchObject({ name: 'nightly', enabled: true, nextRunAt: expect.any(String) });
    const resource = scheduleResourceName('jwt:alice', 'nightly');
    expect(schedulerNames()).toContain(resource);

    expect((await named('GET', 'nightly', 'alice')).json).toMatchObject({ task: { type: 'echo', payload: {} } });
    expect((await list('alice')).json.schedules.map((s: { name: string }) => s.name)).toEqual(['nightly']);

    const disabled = await named('PATCH', 'nightly', 'alice', { enabled: false });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json.nextRunAt).toBeUndefined();
    expect(aws.scheduler.schedules().find((s) => s.name === resource)?.state).toBe('DISABLED');

    const deleted = await named('DELETE', 'nightly', 'alice');
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect(schedulerNames()).not.toContain(resource);
    expect((await named('GET', 'nightly', 'alice')).statusCode).toBe(404);
  });

  it("hides one owner's schedules from another: 404 on every route, an empty list, and the name free", async () => {
    await create({ ...nightly, name: 'private' }, 'carol');

    const other = await Promise.all([
      named('GET', 'private', 'mallory'),
      named('PATCH', 'private', 'mallory', { enabled: false }),
      named('DELETE', 'private', 'mallory'),
    ]);
    const missing = await named('GET', 'never-made', 'mallory');

    expect(other.map((r) => r.statusCode)).toEqual([404, 404, 404]);
    for (const response of other) {
      expect(response.json.error).toEqual({ ...missing.json.error, requestId: response.json.error.requestId });
    }
    expect((await list('mallory')).json.schedules).toEqual([]);
    expect((await create({ ...nightly, name: 'private' }, 'mallory')).statusCode).toBe(201);
    expect((await named('GET', 'private', 'carol')).json.enabled).toBe(true);
  });

  it.each([
    [{ ...nightly, expression: 'cron(0 2 * * *)' }, 'InvalidExpression'],
    [{ ...nightly, expression: 'rate(30 seconds)' }, 'InvalidExpression'],
    [{ ...nightly, timezone: 'Mars/Olympus_Mons' }, 'InvalidTimeZone'],
    [{ ...nightly, startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' }, 'InvalidScheduleWindow'],
    [{ ...nightly, task: { type: 'sleep', payload: { ms: 'long' } } }, 'InvalidPayload'],
  ])('answers %j with 400 and creates nothing', async (body, code) => {
    const response = await create({ ...body, name: `bad-${code}` }, 'dave');

    expect(response.statusCode).toBe(400);
    expect(response.json.error.code).toBe(code);
    expect((await list('dave')).json.schedules).toEqual([]);
  });

  it('answers 409 for a name the owner already uses', async () => {
    await create({ ...nightly, name: 'twice' }, 'erin');
    const again = await create({ ...nightly, name: 'twice' }, 'erin');

    expect(again.statusCode).toBe(409);
    expect(again.json.error.code).toBe('ScheduleExists');
  });
});

describe('fire function', () => {
  it('submits the schedule’s task once per scheduled time, whose view names the schedule', async () => {
    await create({ ...nightly, name: 'fired', task: { type: 'echo', payload: { n: 1 } } }, 'frank');
    const firing = { kind: 'schedule', ownerId: 'jwt:frank', name: 'fired', scheduledTime: '2030-01-01T01:00:00Z' };

    const first = await fireHandler(firing, testContext());
    const again = await fireHandler(firing, testContext());

    expect(first).toMatchObject({ outcome: 'submitted' });
    expect(again).toEqual({ outcome: 'duplicate', taskId: (first as { taskId: string }).taskId });
    const task = await invoke({
      routeKey: 'GET /tasks/{taskId}',
      path: `/tasks/${(first as { taskId: string }).taskId}`,
      pathParameters: { taskId: (first as { taskId: string }).taskId },
      jwtSub: 'frank',
    });
    expect(task.json).toMatchObject({ type: 'echo', status: 'QUEUED', scheduleName: 'fired' });
  });

  it('puts a fired task in its owner’s group, as the API does: fair queues and per-owner limits count it', async () => {
    await create({ ...nightly, name: 'grouped', task: { type: 'echo', payload: {} } }, 'gina');
    const fired = await fireHandler(
      { kind: 'schedule', ownerId: 'jwt:gina', name: 'grouped', scheduledTime: '2030-01-01T01:00:00Z' },
      testContext(),
    );
    const submitted = await invoke({
      routeKey: 'POST /tasks',
      path: '/tasks',
      body: JSON.stringify({ type: 'echo', payload: {} }),
      headers: json,
      jwtSub: 'gina',
    });
    expect(submitted.statusCode).toBe(202);
    const groupOf = async (taskId: string) =>
      (await aws.documents.send(new GetCommand({ TableName: aws.resources.tableName, Key: { taskId } }))).Item
        ?.ownerGroup;

    const group = await groupOf((fired as { taskId: string }).taskId);
    expect(group).toMatch(/^[0-9a-f]{32}$/);
    expect(group).toBe(await groupOf(submitted.json.taskId));
  });
});

describe('POST /tasks with runAt', () => {
  it('keeps a task 20 minutes ahead QUEUED with runAt on a one-time schedule; DELETE cancels both', async () => {
    const runAt = new Date(Date.now() + 20 * 60_000).toISOString();
    const submitted = await invoke({
      routeKey: 'POST /tasks',
      path: '/tasks',
      body: JSON.stringify({ type: 'echo', runAt }),
      headers: json,
      jwtSub: 'grace',
    });

    expect(submitted.statusCode).toBe(202);
    expect(submitted.json).toMatchObject({ status: 'QUEUED', runAt });
    expect(Number(submitted.headers?.['retry-after'])).toBeGreaterThan(19 * 60);
    const { taskId } = submitted.json;
    expect(schedulerNames()).toContain(runAtResourceName(taskId));
    const { Item } = await aws.documents.send(new GetCommand({ TableName: aws.resources.tableName, Key: { taskId } }));
    expect(Item?.expiresAt).toBeGreaterThan(Date.parse(runAt) / 1000);

    const cancelled = await invoke({
      routeKey: 'DELETE /tasks/{taskId}',
      path: `/tasks/${taskId}`,
      pathParameters: { taskId },
      jwtSub: 'grace',
    });

    expect(cancelled.json.status).toBe('CANCELLED');
    expect(schedulerNames()).not.toContain(runAtResourceName(taskId));
  });

  it.each([
    [{ runAt: '2020-01-01T00:00:00Z' }, 'InvalidRunAt'],
    [{ runAt: new Date(Date.now() + 400 * 86_400_000).toISOString() }, 'InvalidRunAt'],
    [{ runAt: new Date(Date.now() + 60_000).toISOString(), delaySeconds: 5 }, 'InvalidRequest'],
    [{ runAt: 'tomorrow at nine' }, 'InvalidRequest'],
  ])('answers %j with 400', async (extra, code) => {
    const response = await invoke({
      routeKey: 'POST /tasks',
      path: '/tasks',
      body: JSON.stringify({ type: 'echo', ...extra }),
      headers: json,
      jwtSub: 'heidi',
    });

    expect(response.statusCode).toBe(400);
    expect(response.json.error.code).toBe(code);
  });
});
