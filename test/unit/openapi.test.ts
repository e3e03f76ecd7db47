import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../functions/api/openapi.js';
import { TaskViewSchema } from '../../functions/api/response-schemas.js';
import { handleApiRequest } from '../../functions/api/routes.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { OPENAPI_FILE, renderOpenApiFile } from '../../infra/openapi-file.js';
import { API_ROUTES, PUBLIC_ROUTES } from '../../shared/api-routes.js';
import { TaskStatus, toTaskView } from '../../shared/task.js';
import { httpRequestFactory, taskFactory } from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

interface Operation {
  responses: Record<string, unknown>;
  security?: unknown[];
}
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { oneOf?: unknown[]; discriminator?: { mapping: Record<string, string> } }> };
};

const committed = readFileSync(OPENAPI_FILE, 'utf8');
const document = JSON.parse(committed) as Document;
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, operation]) => ({ routeKey: `${method.toUpperCase()} ${path}`, operation })),
);

describe('docs/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(document));

    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('is what `npm run openapi` generates now', () => {
    expect(committed, 'stale: run `npm run openapi`').toBe(renderOpenApiFile());
  });

  it('describes exactly the routes of API_ROUTES, the public ones without security', () => {
    expect(operations.map(({ routeKey }) => routeKey).sort()).toEqual(Object.values(API_ROUTES).sort());
    for (const { routeKey, operation } of operations) {
      expect(operation.security, routeKey).toEqual(
        PUBLIC_ROUTES.has(routeKey as (typeof API_ROUTES)[keyof typeof API_ROUTES]) ? [] : undefined,
      );
    }
  });

  it.each(['400', '401', '404', '405', '409', '413', '415', '429', '431', '500', '503'])(
    'describes error status %s',
    (status) => {
      expect(operations.some(({ operation }) => status in operation.responses)).toBe(true);
    },
  );

  it('describes the submission as a union discriminated on type, one variant per task type', () => {
    const submit = document.components.schemas.SubmitRequest;

    expect(Object.keys(submit?.discriminator?.mapping ?? {})).toEqual(Object.keys(demoTaskTypes));
    expect(submit?.oneOf).toHaveLength(Object.keys(demoTaskTypes).length);
    expect(document.components.schemas.SubmitSleepTask).toMatchObject({
      properties: {
        type: { const: 'sleep' },
        payload: { properties: { ms: { type: 'integer', minimum: 0, maximum: 45_000 } }, required: ['ms'] },
        delaySeconds: { type: 'integer', minimum: 0, maximum: 900 },
      },
      required: ['type', 'payload'],
      additionalProperties: false,
    });
  });
});

describe('TaskViewSchema', () => {
  it.each([
    ['queued', taskFactory()],
    [
      'running with progress and a pending retry',
      taskFactory({
        status: TaskStatus.Running,
        attempt: 2,
        startedAt: '2026-11-26T12:00:01.000Z',
        progress: { percent: 40, message: 'halfway' },
        lastError: { code: 'Oops', message: 'retrying' },
        cancelRequested: true,
      }),
    ],
    ['succeeded', taskFactory({ status: TaskStatus.Succeeded, attempt: 1, result: { any: ['json'] } })],
    ['failed', taskFactory({ status: TaskStatus.Failed, attempt: 3, error: { code: 'Boom', message: 'no' } })],
  ])('accepts the view of a %s task', (_case, task) => {
    expect(TaskViewSchema.safeParse(toTaskView(task)).error).toBeUndefined();
  });
});

describe('GET /openapi.json', () => {
  it('serves the document for the registered task types, without credentials', async () => {
    const registry = createTaskRegistry({ tasks: demoTaskTypes, diagnostic: true });
    const response = await handleApiRequest(
      httpRequestFactory({ routeKey: API_ROUTES.openApi, path: '/openapi.json', ownerId: undefined }),
      {
        store: new InMemoryTaskStore(),
        queue: new FakeTaskQueue(),
        registry,
        clock: new FakeClock().now,
        log: new RecordingLog(),
        maxBodyBytes: 1024,
        retryAfterSeconds: 1,
        defaultMaxAttempts: 3,
        ttlDays: 7,
      },
    );

    expect(response.statusCode).toBe(200);
    const served = JSON.parse(response.body) as Document;
    expect(served).toEqual(buildOpenApiDocument(registry));
    expect(Object.keys(served.components.schemas.SubmitRequest?.discriminator?.mapping ?? {})).toEqual([
      ...registry.keys(),
    ]);
    expect([...registry.keys()]).toEqual(expect.arrayContaining(['fail', 'flaky', 'crash']));
  });
});
