import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ApiHandler, createApiHandler } from '../../functions/api/handler.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';
import { useEmulatorEnvironment } from '../support/handler-environment.js';
import { type HttpEventInput, httpApiEvent, testContext } from '../support/lambda-events.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.TOKEN-MARKER.signature';
const SECRET = 'PAYLOAD-MARKER-7f3a';

let aws: EmulatedAws;
let handler: ApiHandler;
const written: string[] = [];

beforeAll(async () => {
  aws = await startEmulatedAws();
  useEmulatorEnvironment(aws);
  // Everything the logger would ship to CloudWatch, at its most talkative.
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  }
  handler = createApiHandler(demoTaskTypes);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await aws.stop();
});

const invoke = async (input: Omit<HttpEventInput, 'jwtSub'>) =>
  (await handler(
    httpApiEvent({ ...input, jwtSub: 'alice', headers: { authorization: `Bearer ${TOKEN}`, ...input.headers } }),
    testContext(),
  )) as APIGatewayProxyStructuredResultV2;

const post = (body: string) =>
  invoke({ routeKey: 'POST /tasks', path: '/tasks', body, headers: { 'content-type': 'application/json' } });

describe('API handler logs', () => {
  it('name the task but carry neither the bearer token nor the payload', async () => {
    const accepted = await post(JSON.stringify({ type: 'echo', payload: { secret: SECRET } }));
    const rejected = [
      await post(`{"type":"echo","payload":"${SECRET}"`),
      await post(JSON.stringify({ type: 'sleep', payload: { ms: SECRET } })),
      await post(JSON.stringify({ type: 'echo', payload: { n: 2 ** 60, secret: SECRET } })),
    ];
    const taskId = JSON.parse(String(accepted.body)).taskId as string;
    const logs = written.join('');

    expect(accepted.statusCode).toBe(202);
    expect(rejected.map((response) => response.statusCode)).toEqual([400, 400, 400]);
    expect(logs).toContain(taskId);
    expect(logs).not.toContain('TOKEN-MARKER');
    expect(logs).not.toContain(SECRET);
  });
});
