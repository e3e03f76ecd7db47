import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../functions/api/http.js';
import { LIST_PAGE_MAX_BYTES } from '../../functions/api/list-tasks.js';
import { type ApiDeps, handleApiRequest } from '../../functions/api/routes.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { API_ROUTES, LIST_PAGE_SIZE } from '../../shared/api-routes.js';
import { type Task, TaskStatus } from '../../shared/task.js';
import { ownerIndexKey } from '../../shared/task-table.js';
import { httpRequestFactory, OTHER_OWNER, TEST_OWNER, taskFactory } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog, TEST_NOW } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

function setup(tasks: readonly Task[] = []) {
  const store = new InMemoryTaskStore(tasks);
  const deps: ApiDeps = {
    store,
    queue: new FakeTaskQueue(),
    registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: false }),
    clock: new FakeClock().now,
    log: new RecordingLog(),
    maxBodyBytes: 1024,
    retryAfterSeconds: 1,
    defaultMaxAttempts: 3,
    ttlDays: 7,
  };
  return { store, deps };
}

interface Listing {
  readonly tasks: ReadonlyArray<Record<string, unknown>>;
  readonly nextCursor?: string;
}

const list = (deps: ApiDeps, query: Record<string, string> = {}) =>
  handleApiRequest(httpRequestFactory({ routeKey: API_ROUTES.listTasks, path: '/tasks', query }), deps);
const json = <T>(response: HttpResponse): T => JSON.parse(response.body) as T;
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** The n-th task, newest first: a second apart, so the order is certain. */
const at = (n: number) => new Date(TEST_NOW.getTime() - n * 1000).toISOString();

describe('GET /tasks', () => {
  it('lists summaries: the result stays out even when the store hands it over', async () => {
    const done = taskFactory({ status: TaskStatus.Succeeded, result: { big: 'RESULT-MARKER' }, attempt: 1 });
    const { deps } = setup([done]);

    const response = await list(deps);

    expect(response.statusCode).toBe(200);
    const { tasks } = json<Listing>(response);
    expect(tasks).toEqual([
      {
        taskId: done.taskId,
        type: 'echo',
        status: 'SUCCEEDED',
        lane: 'default',
        priority: 'normal',
        attempts: 1,
        maxAttempts: 3,
        createdAt: done.createdAt,
        updatedAt: done.updatedAt,
      },
    ]);
    expect(response.body).not.toContain('RESULT-MARKER');
    expect(response.body).not.toContain('hello');
  });

  it('ends a page early, with a cursor, before its JSON passes the byte budget, and the cursor resumes after it', async () => {
    // 200 KB of error message per task: a full page would be 10 MB, over Lambda's 6 MB response limit.
    const message = 'm'.repeat(200_000);
    const tasks = Array.from({ length: LIST_PAGE_SIZE.max }, (_, n) =>
      taskFactory({ createdAt: at(n), status: TaskStatus.Failed, error: { code: 'Boom', message } }),
    );
    const { deps } = setup(tasks);

    const pages: Listing[] = [];
    let cursor: string | undefined;
    do {
      const response = await list(deps, { limit: String(LIST_PAGE_SIZE.max), ...(cursor && { cursor }) });
      expect(response.statusCode).toBe(200);
      expect(Buffer.byteLength(response.body)).toBeLessThanOrEqual(LIST_PAGE_MAX_BYTES + 1024);
      const page = json<Listing>(response);
      pages.push(page);
      cursor = page.nextCursor;
    } while (cursor && pages.length < 100);

    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flatMap((page) => page.tasks.map((task) => task.taskId))).toEqual(tasks.map((task) => task.taskId));
  });

  it.each([
    ['a limit over the maximum', { limit: String(LIST_PAGE_SIZE.max + 1) }, 'InvalidQuery'],
    ['a limit of 0', { limit: '0' }, 'InvalidQuery'],
    ['a negative limit', { limit: '-5' }, 'InvalidQuery'],
    ['a cursor that is not base64url JSON', { cursor: '%%%' }, 'InvalidCursor'],
    ['a cursor with the owner only', { cursor: cursorOf({ ownerId: TEST_OWNER }) }, 'InvalidCursor'],
    [
      'a cursor with an empty task id',
      { cursor: cursorOf({ ...ownerIndexKey(taskFactory()), taskId: '' }) },
      'InvalidCursor',
    ],
    [
      'a cursor with a task id that is no task id',
      { cursor: cursorOf({ ...ownerIndexKey(taskFactory()), taskId: 'x'.repeat(200) }) },
      'InvalidCursor',
    ],
    [
      'a cursor with a createdAt that is no timestamp',
      { cursor: cursorOf({ ...ownerIndexKey(taskFactory()), createdAt: 'yesterday' }) },
      'InvalidCursor',
    ],
    [
      'a cursor with an extra key',
      { cursor: cursorOf({ ...ownerIndexKey(taskFactory()), status: 'QUEUED' }) },
      'InvalidCursor',
    ],
    [
      'a cursor with a number for a key',
      { cursor: cursorOf({ ...ownerIndexKey(taskFactory()), createdAt: 1 }) },
      'InvalidCursor',
    ],
    [
      'another owner’s cursor',
      { cursor: cursorOf(ownerIndexKey(taskFactory({ ownerId: OTHER_OWNER }))) },
      'InvalidCursor',
    ],
  ])('answers 400 for %s, before any store call', async (_case, query, code) => {
    const { store, deps } = setup();

    const response = await list(deps, query);

    expect(response.statusCode).toBe(400);
    expect(json<{ error: { code: string } }>(response).error.code).toBe(code);
    expect(store.calls).toEqual([]);
  });

  it('accepts a cursor it issued', async () => {
    const tasks = [0, 1, 2].map((n) => taskFactory({ createdAt: at(n) }));
    const { deps } = setup(tasks);

    const first = json<Listing>(await list(deps, { limit: '2' }));
    const second = json<Listing>(await list(deps, { limit: '2', cursor: first.nextCursor ?? '' }));

    expect([...first.tasks, ...second.tasks].map((task) => task.taskId)).toEqual(tasks.map((task) => task.taskId));
  });
});
