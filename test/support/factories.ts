import { randomUUID } from 'node:crypto';
import type { HttpRequest } from '../../functions/api/http.js';
import type { TaskDelivery } from '../../functions/worker/run-task.js';
import { API_ROUTES, DEFAULT_ROUTE } from '../../shared/api-routes.js';
import { canonicalJson, sha256Hex } from '../../shared/canonical-json.js';
import { type Task, TaskStatus } from '../../shared/task.js';
import { serializeTaskMessage } from '../../shared/task-message.js';
import { TEST_NOW } from './fakes.js';

export const TEST_OWNER = 'jwt:owner-1';
export const OTHER_OWNER = 'jwt:owner-2';
const DAY_SECONDS = 86_400;

/** A freshly submitted echo task (QUEUED, attempt 0) unless overridden. */
export function taskFactory(overrides: Partial<Task> = {}): Task {
  const type = overrides.type ?? 'echo';
  const payload = 'payload' in overrides ? overrides.payload : { hello: 'world' };
  return {
    taskId: randomUUID(),
    ownerId: TEST_OWNER,
    type,
    status: TaskStatus.Queued,
    payload,
    payloadHash: sha256Hex(canonicalJson({ type, payload })),
    attempt: 0,
    maxAttempts: 3,
    createdAt: TEST_NOW.toISOString(),
    updatedAt: TEST_NOW.toISOString(),
    expiresAt: Math.floor(TEST_NOW.getTime() / 1000) + 7 * DAY_SECONDS,
    ...overrides,
  };
}

/** The SQS record a worker gets, reduced to the fields of TaskDelivery; `body` is sent as is. */
export function sqsRecordFactory(body: string, overrides: Partial<TaskDelivery> = {}): TaskDelivery {
  const messageId = randomUUID();
  return { messageId, body, receiptHandle: `receipt-${messageId}`, ...overrides };
}

/** The record the API would have sent for `task`. */
export const sqsRecordFor = (task: Pick<Task, 'taskId' | 'type'>): TaskDelivery =>
  sqsRecordFactory(serializeTaskMessage({ taskId: task.taskId, type: task.type }));

/** A request as toHttpRequest builds it: headers lower-cased, routed by API Gateway. */
export function httpRequestFactory(overrides: Partial<HttpRequest> = {}): HttpRequest {
  return {
    routeKey: DEFAULT_ROUTE,
    method: 'GET',
    path: '/',
    pathParameters: {},
    query: {},
    headers: {},
    requestId: `req-${randomUUID()}`,
    ownerId: TEST_OWNER,
    ...overrides,
  };
}

/** `POST /tasks` with a JSON body; pass a string to send it unparsed. */
export function submitRequest(body: unknown, overrides: Partial<HttpRequest> = {}): HttpRequest {
  return httpRequestFactory({
    routeKey: API_ROUTES.submitTask,
    method: 'POST',
    path: '/tasks',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    ...overrides,
  });
}

/** `GET /tasks/{taskId}`. */
export function getTaskRequest(taskId: string, overrides: Partial<HttpRequest> = {}): HttpRequest {
  return httpRequestFactory({
    routeKey: API_ROUTES.getTask,
    method: 'GET',
    path: `/tasks/${taskId}`,
    pathParameters: { taskId },
    ...overrides,
  });
}
