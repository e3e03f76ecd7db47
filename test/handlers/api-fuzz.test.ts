import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { API_ROUTES, DEFAULT_ROUTE } from '../../shared/api-routes.js';
import { useApiHandler } from '../support/handler-environment.js';
import { httpApiEvent, iamCaller, testContext } from '../support/lambda-events.js';

/**
 * Property: whatever API Gateway could hand the API Lambda (and much it never would), the handler
 * answers with a 2xx success or a 4xx in the API's error format, never throws, never answers 5xx,
 * and records a task only for a request it accepted (202).
 */

const api = useApiHandler();

const RUNS = 10_000;

const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.string().regex(/^[A-Z][A-Za-z]+$/),
    message: z.string().min(1),
    details: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
    requestId: z.string().min(1),
  }),
});
const SuccessBody = z.record(z.string(), z.unknown());

// ── generators ─────────────────────────────────────────────────────────────────────────────────

const uuid = fc.uuid({ version: 4 });
/** Strings of every kind: empty, ASCII, any code point (lone surrogates too), and very long ones. */
const anyString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000', '\r\n', '%00', '../..', '$' + '{jndi:x}', '<script>') },
);
/** Numbers where validation and DynamoDB are most likely to disagree. */
const edgeNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    -0,
    0.5,
    -1,
    900,
    901,
    2 ** 31,
    2 ** 53,
    Number.MAX_SAFE_INTEGER + 2,
    Number.MIN_VALUE,
    Number.MAX_VALUE,
    1e126,
    1e-131,
  ),
);
const edgyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    edgeNumber,
    anyString,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(anyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const deeplyNested = fc
  .integer({ min: 20, max: 3_000 })
  .map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`));

/** Submissions close enough to valid that many get through to the table and the queue. */
const submission = fc.record(
  {
    type: fc.oneof(fc.constantFrom('echo', 'sleep', 'fail', 'ECHO', ''), anyString),
    payload: fc.oneof(
      edgyJson,
      deeplyNested,
      fc.record({ ms: fc.oneof(edgeNumber, anyString) }),
      fc.integer({ min: 200_000, max: 300_000 }).map((n) => ({ blob: 'y'.repeat(n) })),
    ),
    delaySeconds: fc.oneof(edgeNumber, anyString, fc.constant(null)),
    extra: edgyJson,
  },
  { requiredKeys: ['type'] },
);

const body = fc.oneof(
  { weight: 6, arbitrary: submission.map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: edgyJson.map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 2, arbitrary: anyString },
  { weight: 1, arbitrary: fc.constantFrom('{', '{"type":"echo"', '[]', 'null', '""', '{"__proto__":{"x":1}}') },
  { weight: 1, arbitrary: fc.integer({ min: 250 * 1024, max: 400 * 1024 }).map((n) => `"${'z'.repeat(n)}"`) },
);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/problem+json',
    'text/plain',
    'application/jsonx',
    'multipart/form-data; boundary=x',
  ),
  anyString,
);

/** Header values: rarely huge, or nearly every request would stop at the header limit. */
const headerValue = fc.oneof(
  { weight: 20, arbitrary: fc.string({ maxLength: 300 }) },
  { weight: 1, arbitrary: anyString },
);

const headers = fc
  .record(
    {
      'content-type': contentType,
      'idempotency-key': headerValue,
      'x-random': headerValue,
      authorization: headerValue,
      'x-owner-id': fc.constant('jwt:alice'),
    },
    { requiredKeys: [] },
  )
  .chain((known) =>
    fc
      .dictionary(fc.string({ minLength: 1, maxLength: 20 }), anyString, { maxKeys: 3 })
      .map((more) => ({ ...more, ...known })),
  );

const routeKey = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...Object.values(API_ROUTES), DEFAULT_ROUTE) },
  { weight: 1, arbitrary: anyString },
);
const method = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS') },
  { weight: 1, arbitrary: anyString },
);
const path = fc.oneof(
  fc.constantFrom('/tasks', '/tasks/', '/health', '/openapi.json', '/'),
  uuid.map((id) => `/tasks/${id}`),
  anyString.map((text) => `/${text}`),
);
const taskId = fc.oneof({ weight: 1, arbitrary: uuid }, { weight: 3, arbitrary: anyString });
/**
 * Cursors as a caller could forge them: base64url JSON shaped like the owner index key, with the
 * caller's own owner id or another's, keys missing, extra, empty, too long or of the wrong type.
 */
const keyValue = fc.oneof(
  { weight: 3, arbitrary: anyString },
  { weight: 1, arbitrary: edgyJson },
  { weight: 1, arbitrary: fc.constant('') },
);
const forgedCursor = fc
  .record(
    {
      taskId: fc.oneof(uuid, keyValue),
      ownerId: fc.oneof(fc.constantFrom('jwt:alice', 'jwt:bob', 'jwt:carol'), keyValue),
      createdAt: fc.oneof(
        fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        keyValue,
      ),
      extra: keyValue,
    },
    { requiredKeys: [] },
  )
  .chain((key) => fc.oneof(fc.constant(key), edgyJson))
  .map((value) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url'));
const cursor = fc.oneof({ weight: 1, arbitrary: anyString }, { weight: 2, arbitrary: forgedCursor });
const query = fc.oneof(
  fc.record(
    {
      status: fc.oneof(fc.constantFrom('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'), anyString),
      limit: fc.oneof(edgeNumber.map(String), anyString),
      cursor,
    },
    { requiredKeys: [] },
  ),
  fc.dictionary(anyString, anyString, { maxKeys: 3 }),
);
/** Mostly a verified caller, as API Gateway sends it; sometimes none, or an authorizer context of odd shape. */
const authorizer = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('alice', 'bob').map((sub) => ({ jwt: { claims: { sub }, scopes: null } })) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        iamCaller.user('svc'),
        iamCaller.roleSession('svc', 'run'),
        iamCaller.cognitoIdentity(
          'us-east-1:4f291106-8703-466b-8f2b-3ecee1ca56ce',
          'us-east-1:3f291106-8703-466b-8f2b-3ecee1ca56ce',
        ),
      )
      .map((iam) => ({ iam })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { jwt: { claims: {}, scopes: null } },
      { jwt: { claims: { sub: '' }, scopes: null } },
      { jwt: { claims: { sub: 42 }, scopes: null } },
      { iam: {} },
      { iam: { userArn: 'arn:aws:iam::123456789012:role/svc' } },
      { iam: { ...iamCaller.federatedUser('svc'), cognitoIdentity: { identityId: 42 } } },
      {},
      { lambda: { sub: 'alice' } },
    ),
  },
);

/** Well-formed calls by a verified caller with payloads of every shape: these reach the table and the queue. */
const plausible: fc.Arbitrary<APIGatewayProxyEventV2> = fc
  .record({
    route: fc.constantFrom('submit', 'submit', 'submit', 'get', 'cancel', 'list'),
    payload: fc.oneof(edgyJson, deeplyNested),
    delaySeconds: fc.option(fc.integer({ min: 0, max: 900 }), { nil: undefined }),
    taskId: uuid,
    sub: fc.constantFrom('alice', 'bob'),
  })
  .map(({ route, payload, delaySeconds, taskId, sub }) => {
    const input = {
      submit: {
        routeKey: API_ROUTES.submitTask,
        path: '/tasks',
        body: JSON.stringify({ type: 'echo', payload, delaySeconds }),
        headers: { 'content-type': 'application/json' },
      },
      get: { routeKey: API_ROUTES.getTask, path: `/tasks/${taskId}`, pathParameters: { taskId } },
      cancel: { routeKey: API_ROUTES.cancelTask, path: `/tasks/${taskId}`, pathParameters: { taskId } },
      list: { routeKey: API_ROUTES.listTasks, path: '/tasks' },
    }[route];
    return httpApiEvent({ ...input, jwtSub: sub });
  });

const chaotic: fc.Arbitrary<APIGatewayProxyEventV2> = fc
  .record({
    routeKey,
    method,
    path,
    headers,
    query: fc.option(query, { nil: undefined }),
    pathParameters: fc.option(fc.record({ taskId }, { requiredKeys: [] }), { nil: undefined }),
    body: fc.option(body, { nil: undefined, freq: 4 }),
    base64: fc.boolean(),
    authorizer,
  })
  .map((input) => {
    const base = httpApiEvent({ routeKey: input.routeKey, path: input.path, headers: input.headers });
    const encoded =
      input.body === undefined ? undefined : input.base64 ? Buffer.from(input.body).toString('base64') : input.body;
    return {
      ...base,
      ...(input.query && { queryStringParameters: input.query }),
      ...(input.pathParameters && { pathParameters: input.pathParameters }),
      ...(encoded !== undefined && { body: encoded }),
      isBase64Encoded: input.base64,
      requestContext: {
        ...base.requestContext,
        http: { ...base.requestContext.http, method: input.method },
        ...(input.authorizer && { authorizer: input.authorizer }),
      },
    } as APIGatewayProxyEventV2;
  });

const event = fc.oneof({ weight: 1, arbitrary: plausible }, { weight: 7, arbitrary: chaotic });

/** Listings by owners with forged cursors, and by carol, whose tasks' results add up to more than 6 MB. */
const listing: fc.Arbitrary<APIGatewayProxyEventV2> = fc
  .record({
    sub: fc.constantFrom('alice', 'bob', 'carol', 'carol'),
    limit: fc.option(fc.oneof(fc.integer({ min: 1, max: 50 }).map(String), edgeNumber.map(String)), { nil: undefined }),
    status: fc.option(fc.constantFrom('SUCCEEDED', 'QUEUED'), { nil: undefined }),
    cursor: fc.option(forgedCursor, { nil: undefined, freq: 2 }),
  })
  .map(({ sub, limit, status, cursor }) => {
    const query = Object.fromEntries(
      Object.entries({ limit, status, cursor }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    return httpApiEvent({ routeKey: API_ROUTES.listTasks, path: '/tasks', jwtSub: sub, query });
  });

// ── the property ───────────────────────────────────────────────────────────────────────────────

/** Lambda refuses a synchronous response over 6 MB: API Gateway would answer 500 in the handler's place. */
const LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024;

/** What every answer must be: 2xx or 4xx, JSON in the contract shape, small enough for Lambda to return. */
function checkAnswer(result: APIGatewayProxyStructuredResultV2): number {
  const status = result.statusCode ?? 0;
  expect(status).toBeGreaterThanOrEqual(200);
  expect(status).toBeLessThan(500);
  expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(LAMBDA_RESPONSE_LIMIT_BYTES);
  expect(result.headers?.['content-type']).toBe('application/json');
  const parsed = JSON.parse(String(result.body));
  if (status >= 400) ErrorBody.parse(parsed);
  else SuccessBody.parse(parsed);
  return status;
}

const countItems = async (): Promise<number> => {
  let count = 0;
  let ExclusiveStartKey: Record<string, never> | undefined;
  do {
    const page = await api.aws.dynamodb.send(
      new ScanCommand({ TableName: api.aws.resources.tableName, Select: 'COUNT', ExclusiveStartKey }),
    );
    count += page.Count ?? 0;
    ExclusiveStartKey = page.LastEvaluatedKey as typeof ExclusiveStartKey;
  } while (ExclusiveStartKey);
  return count;
};

describe(`the API handler under ${RUNS} generated requests`, () => {
  it('never throws, never answers 5xx, always answers JSON in the contract shape, and writes only what it accepts', async () => {
    const statuses = new Map<number, number>();
    let created = 0;
    const before = await countItems();

    await fc.assert(
      fc.asyncProperty(event, async (generated) => {
        const result = (await api.handler(generated, testContext())) as APIGatewayProxyStructuredResultV2;
        const status = checkAnswer(result);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 202 && generated.routeKey === API_ROUTES.submitTask) created++;
      }),
      { numRuns: RUNS },
    );

    // Every item in the table came from a 202: a rejected request left nothing behind.
    expect((await countItems()) - before).toBe(created);
    // The generators reach every outcome: a suite that only ever saw 401s would prove nothing.
    for (const expected of [200, 202, 400, 401, 404, 405, 413, 415]) expect(statuses.get(expected)).toBeGreaterThan(0);
  }, 60_000);
});

describe('the API handler under generated listings', () => {
  beforeAll(async () => {
    // 17 tasks with a 380 KB result each: 6.5 MB of results, more than one Lambda response can carry.
    const result = { blob: 'r'.repeat(380_000) };
    for (let n = 0; n < 17; n++) {
      await api.aws.documents.send(
        new PutCommand({
          TableName: api.aws.resources.tableName,
          Item: {
            taskId: randomUUID(),
            ownerId: 'jwt:carol',
            type: 'echo',
            status: 'SUCCEEDED',
            payload: {},
            payloadHash: 'hash',
            attempt: 1,
            maxAttempts: 3,
            createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
            updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
            result,
            expiresAt: Math.floor(Date.now() / 1000) + 3_600,
          },
        }),
      );
    }
  });

  it('answers forged cursors and pages of oversized tasks with 2xx or 4xx, never 5xx or over 6 MB', async () => {
    const statuses = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(listing, async (generated) => {
        const status = checkAnswer((await api.handler(generated, testContext())) as APIGatewayProxyStructuredResultV2);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
      { numRuns: 1_000 },
    );

    for (const expected of [200, 400]) expect(statuses.get(expected)).toBeGreaterThan(0);
  }, 60_000);
});
