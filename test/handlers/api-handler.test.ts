import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { taskFactory } from '../support/factories.js';
import { useApiHandler } from '../support/handler-environment.js';
import { type HttpEventInput, httpApiEvent, iamCaller, testContext } from '../support/lambda-events.js';

const api = useApiHandler();

const invoke = async (input: HttpEventInput) => {
  const result = (await api.handler(httpApiEvent(input), testContext())) as APIGatewayProxyStructuredResultV2;
  return { ...result, json: JSON.parse(String(result.body)) };
};

const post = (body: unknown, who: Partial<HttpEventInput> = {}) =>
  invoke({
    routeKey: 'POST /tasks',
    path: '/tasks',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    ...who,
  });

const get = (taskId: string, who: Partial<HttpEventInput> = {}) =>
  invoke({ routeKey: 'GET /tasks/{taskId}', path: `/tasks/${taskId}`, pathParameters: { taskId }, ...who });

describe('API handler with a payload 2.0 event', () => {
  it("records the task QUEUED in the table and sends its id, type and owner's group to the queue", async () => {
    const response = await post({ type: 'echo', payload: { n: 1 } }, { jwtSub: 'alice' });

    expect(response.statusCode).toBe(202);
    const { taskId } = response.json;
    const { Item } = await api.aws.documents.send(
      new GetCommand({ TableName: api.aws.resources.tableName, Key: { taskId } }),
    );
    expect(Item).toMatchObject({ taskId, ownerId: 'jwt:alice', status: 'QUEUED', payload: { n: 1 }, attempt: 0 });
    // A keyed hash of the owner: what SQS sees as the tenant, never the owner id.
    expect(Item?.ownerGroup).toMatch(/^[0-9a-f]{32}$/);
    const { Messages = [] } = await api.aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: api.aws.resources.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const message = Messages.find((m) => JSON.parse(m.Body ?? '{}').taskId === taskId);
    expect(JSON.parse(message?.Body ?? '{}')).toEqual({ taskId, type: 'echo', group: Item?.ownerGroup });
    expect(message?.Attributes?.MessageGroupId).toBe(Item?.ownerGroup);
  });

  it('sends a high-priority task to the high-priority queue, with its lane and priority stored', async () => {
    const response = await post({ type: 'echo', payload: { n: 2 }, priority: 'high' }, { jwtSub: 'alice' });

    expect(response.statusCode).toBe(202);
    const { taskId } = response.json;
    const { Item } = await api.aws.documents.send(
      new GetCommand({ TableName: api.aws.resources.tableName, Key: { taskId } }),
    );
    expect(Item).toMatchObject({ lane: 'default', priority: 'high' });
    const { Messages } = await api.aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: api.aws.resources.highPriorityQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    expect(Messages?.map((m) => JSON.parse(m.Body ?? ''))).toContainEqual({
      taskId,
      type: 'echo',
      priority: 'high',
      // The caller's keyed group: fair queues serve quiet owners first.
      group: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('returns the task to its owner and 404 to anyone else', async () => {
    const { json } = await post({ type: 'echo', payload: {} }, { jwtSub: 'alice' });

    const own = await get(json.taskId, { jwtSub: 'alice' });
    const other = await get(json.taskId, { jwtSub: 'mallory' });
    const unknown = await get('00000000-0000-4000-8000-000000000000', { jwtSub: 'mallory' });

    expect(own.statusCode).toBe(200);
    expect(own.json).toMatchObject({ taskId: json.taskId, status: 'QUEUED' });
    expect(other.statusCode).toBe(404);
    expect(other.json.error).toEqual({ ...unknown.json.error, requestId: other.json.error.requestId });
  });

  it('takes the owner from the IAM authorizer for SigV4 callers', async () => {
    const iam = iamCaller.roleSession('reporting', 'nightly');
    const { json } = await post({ type: 'echo', payload: {} }, { iam });

    const { Item } = await api.aws.documents.send(
      new GetCommand({ TableName: api.aws.resources.tableName, Key: { taskId: json.taskId } }),
    );
    expect(Item?.ownerId).toBe('iam:arn:aws:sts::123456789012:assumed-role/reporting');
    expect((await get(json.taskId, { iam })).statusCode).toBe(200);
    expect((await get(json.taskId, { jwtSub: String(iam.userArn) })).statusCode).toBe(404);
  });

  it('decodes a base64-encoded body', async () => {
    const event = httpApiEvent({
      routeKey: 'POST /tasks',
      path: '/tasks',
      jwtSub: 'alice',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ type: 'echo', payload: 'b64' })).toString('base64'),
    });

    const result = (await api.handler(
      { ...event, isBase64Encoded: true },
      testContext(),
    )) as APIGatewayProxyStructuredResultV2;

    expect(result.statusCode).toBe(202);
  });

  it('answers unmatched routes in the API error format', async () => {
    const response = await invoke({ routeKey: '$default', path: '/nowhere', jwtSub: 'alice' });

    expect(response.statusCode).toBe(404);
    expect(response.json.error.code).toBe('NotFound');
  });

  it.each([
    ['POST /tasks', '/tasks', undefined],
    ['GET /tasks', '/tasks', undefined],
    ['GET /tasks/{taskId}', '/tasks/00000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000000'],
    ['DELETE /tasks/{taskId}', '/tasks/00000000-0000-4000-8000-000000000000', '00000000-0000-4000-8000-000000000000'],
    ['$default', '/nowhere', undefined],
  ])('answers 401 on %s when no authorizer filled in a caller', async (routeKey, path, taskId) => {
    const response = await invoke({
      routeKey,
      path,
      ...(taskId && { pathParameters: { taskId } }),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'echo', payload: {} }),
    });

    expect(response.statusCode).toBe(401);
    expect(response.headers?.['www-authenticate']).toBe('Bearer');
    expect(response.json.error).toMatchObject({ code: 'Unauthorized' });
  });

  describe('behind a catch-all route ($default, ANY /{proxy+}) on a named stage', () => {
    const TASK_BODY = JSON.stringify({ type: 'echo', payload: 'caught' });
    const JSON_TYPE = { 'content-type': 'application/json' };

    it.each([
      ['$default', '$default', '/tasks'],
      ['ANY /{proxy+}', '$default', '/tasks'],
      ['$default', 'prod', '/prod/tasks'],
    ])('serves the routes it stands for (route key %s, stage %s)', async (routeKey, stage, path) => {
      const submitted = await invoke({
        routeKey,
        method: 'POST',
        stage,
        path,
        jwtSub: 'alice',
        headers: JSON_TYPE,
        body: TASK_BODY,
      });
      expect(submitted.statusCode).toBe(202);
      // The path it hands out keeps the stage, so a client can follow it.
      const stagePrefix = stage === '$default' ? '' : `/${stage}`;
      expect(submitted.headers?.location).toBe(`${stagePrefix}/tasks/${submitted.json.taskId}`);

      const taskPath = `${path}/${encodeURIComponent(submitted.json.taskId)}`;
      const read = await invoke({ routeKey, method: 'GET', stage, path: taskPath, jwtSub: 'alice' });
      expect(read.statusCode).toBe(200);
      expect(read.json).toMatchObject({ taskId: submitted.json.taskId, type: 'echo' });
      // Its owner check holds as on the declared route.
      expect((await invoke({ routeKey, method: 'GET', stage, path: taskPath, jwtSub: 'bob' })).statusCode).toBe(404);
    });

    it('keeps the caller check: a protected route without a caller is 401, a public one is served', async () => {
      const refused = await invoke({
        routeKey: '$default',
        method: 'POST',
        path: '/tasks',
        headers: JSON_TYPE,
        body: TASK_BODY,
      });
      expect(refused.statusCode).toBe(401);

      const health = await invoke({ routeKey: '$default', method: 'GET', path: '/health' });
      expect(health.statusCode).toBe(200);
    });

    it('answers 405 with Allow for a known path under a named stage', async () => {
      const response = await invoke({
        routeKey: '$default',
        method: 'PUT',
        stage: 'prod',
        path: '/prod/tasks',
        jwtSub: 'alice',
      });

      expect(response.statusCode).toBe(405);
      expect(response.headers?.allow).toBe('GET, POST');
    });
  });

  it('takes a null body as none: a GET answers, a POST is refused in the API format', async () => {
    const listed = await api.handler(
      { ...httpApiEvent({ routeKey: 'GET /tasks', path: '/tasks', jwtSub: 'alice' }), body: null as unknown as string },
      testContext(),
    );
    expect((listed as APIGatewayProxyStructuredResultV2).statusCode).toBe(200);

    const posted = (await api.handler(
      {
        ...httpApiEvent({
          routeKey: 'POST /tasks',
          path: '/tasks',
          jwtSub: 'alice',
          headers: { 'content-type': 'application/json' },
        }),
        body: null as unknown as string,
      },
      testContext(),
    )) as APIGatewayProxyStructuredResultV2;
    expect(posted.statusCode).toBe(400);
    expect(JSON.parse(String(posted.body)).error.code).toBeTypeOf('string');
  });

  it('answers an event without its http context in the API format, not with a crash', async () => {
    const event = httpApiEvent({ routeKey: 'GET /tasks', path: '/tasks', jwtSub: 'alice' });
    const { http: _http, ...requestContext } = event.requestContext;

    const result = (await api.handler(
      { ...event, requestContext: requestContext as typeof event.requestContext },
      testContext(),
    )) as APIGatewayProxyStructuredResultV2;

    expect(result.statusCode).toBe(500);
    expect(JSON.parse(String(result.body)).error.code).toBe('InternalError');
  });

  it('answers 403, without a challenge, to a verified token that names no subject', async () => {
    const event = httpApiEvent({ routeKey: 'GET /tasks', path: '/tasks' });
    const requestContext = {
      ...event.requestContext,
      authorizer: { jwt: { claims: { iss: 'issuer' }, scopes: null } },
    };

    const result = (await api.handler(
      { ...event, requestContext },
      testContext(),
    )) as APIGatewayProxyStructuredResultV2;

    expect(result.statusCode).toBe(403);
    expect(result.headers?.['www-authenticate']).toBeUndefined();
    expect(JSON.parse(String(result.body)).error.code).toBe('Forbidden');
  });

  it('ignores an owner claimed in a header or the body: only the authorizer counts', async () => {
    const response = await post(
      { type: 'echo', payload: {}, ownerId: 'jwt:alice' },
      { headers: { 'content-type': 'application/json', 'x-owner-id': 'jwt:alice' } },
    );

    expect(response.statusCode).toBe(401);
  });

  it('answers GET /health without a caller', async () => {
    const response = await invoke({ routeKey: 'GET /health', path: '/health' });

    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({ status: 'ok' });
  });

  it('answers 400, not 500, for a cursor with the caller’s own owner id and a key DynamoDB would reject', async () => {
    // {"ownerId":"jwt:dev"}: reached DynamoDB as an ExclusiveStartKey without the table key.
    const response = await invoke({
      routeKey: 'GET /tasks',
      path: '/tasks',
      jwtSub: 'dev',
      query: { cursor: 'eyJvd25lcklkIjoiand0OmRldiJ9' },
    });

    expect(response.statusCode).toBe(400);
    expect(response.json.error.code).toBe('InvalidCursor');
  });

  it('lists tasks whose results add up to more than Lambda’s 6 MB response as summaries, in a small page', async () => {
    const ownerId = 'jwt:hoarder';
    const result = { blob: 'r'.repeat(300_000) };
    const tasks = Array.from({ length: 25 }, (_, n) =>
      taskFactory({
        ownerId,
        status: 'SUCCEEDED',
        attempt: 1,
        result,
        payload: { blob: 'p'.repeat(50_000) },
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
      }),
    );
    for (const task of tasks)
      await api.aws.documents.send(new PutCommand({ TableName: api.aws.resources.tableName, Item: task }));

    const response = await invoke({
      routeKey: 'GET /tasks',
      path: '/tasks',
      jwtSub: 'hoarder',
      query: { limit: '25' },
    });

    expect(response.statusCode).toBe(200);
    expect(Buffer.byteLength(String(response.body))).toBeLessThan(64 * 1024);
    expect(response.json.tasks).toHaveLength(25);
    expect(response.json.tasks[0]).not.toHaveProperty('result');
    expect(response.json.tasks[0]).toMatchObject({ taskId: tasks[24]?.taskId, status: 'SUCCEEDED' });
  });
});
