import { describe, expect, inject, it } from 'vitest';
import { call, submit, type TaskBody } from './api-client.js';

/** Against a deployed stack API Gateway answers 401 itself, with `{"message":"Unauthorized"}` only. */
const local = !process.env.API_URL;
const apiToken = inject('apiToken');
const otherApiToken = inject('otherApiToken');
const expiredApiToken = inject('expiredApiToken');

/** The same token with its signature changed in its first character (the last may only hold padding bits). */
function withBrokenSignature(token: string): string {
  const [header, payload, signature = ''] = token.split('.');
  return `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
}

const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

describe.runIf(apiToken)('authentication', () => {
  it.each([
    ['no token', () => null],
    ['a token with a bad signature', () => withBrokenSignature(apiToken)],
    ['a token that is not a JWT', () => 'not-a-token'],
  ])('answers 401 to %s, on every route', async (_case, token) => {
    for (const [method, path] of [
      ['POST', '/tasks'],
      ['GET', '/tasks'],
      ['GET', `/tasks/${UNKNOWN_ID}`],
      ['DELETE', `/tasks/${UNKNOWN_ID}`],
      ['GET', '/no-such-route'],
    ] as const) {
      const response = await call(method, path, {
        token: token(),
        body: method === 'POST' ? JSON.stringify({ type: 'echo', payload: {} }) : undefined,
        headers: { 'content-type': 'application/json' },
      });

      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.body).toMatchObject({ message: 'Unauthorized' });
      if (local) expect(response.body).toMatchObject({ error: { code: 'Unauthorized' } });
    }
  });

  it.runIf(expiredApiToken)('answers 401 to an expired token', async () => {
    const response = await call('GET', '/tasks', { token: expiredApiToken });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('serves GET /health without a token', async () => {
    const response = await call('GET', '/health', { token: null });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });
});

describe.runIf(otherApiToken)("another owner's task", () => {
  const asOther = { token: otherApiToken };

  it('is 404 to GET, exactly like an unknown id', async () => {
    const { body: task } = await submit({ type: 'echo', payload: { secret: 1 } });

    const foreign = await call('GET', `/tasks/${task.taskId}`, asOther);
    const unknown = await call('GET', `/tasks/${UNKNOWN_ID}`, asOther);

    expect(foreign.status).toBe(404);
    expect(withoutRequestId(foreign.body)).toEqual(withoutRequestId(unknown.body));
  });

  it('is 404 to DELETE, exactly like an unknown id, and stays as it was', async () => {
    const { body: task } = await submit({ type: 'echo', payload: 'keep', delaySeconds: 2 });

    const foreign = await call('DELETE', `/tasks/${task.taskId}`, asOther);
    const unknown = await call('DELETE', `/tasks/${UNKNOWN_ID}`, asOther);
    const own = await call<TaskBody>('GET', `/tasks/${task.taskId}`);

    expect(foreign.status).toBe(404);
    expect(withoutRequestId(foreign.body)).toEqual(withoutRequestId(unknown.body));
    expect(own.body.status).not.toBe('CANCELLED');
  });

  it('is not in the other owner’s listing', async () => {
    const { body: task } = await submit({ type: 'echo', payload: 'mine' });

    const listing = await call<{ tasks: TaskBody[] }>('GET', '/tasks?limit=50', asOther);

    expect(listing.status).toBe(200);
    expect(listing.body.tasks.map((t) => t.taskId)).not.toContain(task.taskId);
  });
});

describe('input limits', () => {
  it('answers 413 to a body over the limit', async () => {
    const response = await submit({ type: 'echo', payload: 'x'.repeat(300 * 1024) });

    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ error: { code: 'PayloadTooLarge' } });
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['a look-alike media type', { 'content-type': 'application/jsonx' }],
    ['form data', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('answers 415 to a body sent as %s', async (_case, headers) => {
    const response = await call('POST', '/tasks', { body: '{"type":"echo","payload":{}}', headers });

    expect(response.status).toBe(415);
    expect(response.body).toMatchObject({ error: { code: 'UnsupportedMediaType' } });
  });

  it('answers 400 to a query value over 2048 characters', async () => {
    const response = await call('GET', `/tasks?status=${'x'.repeat(3000)}`);

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'InvalidQuery' } });
  });

  it.runIf(local)('answers 431 to headers over 10 KiB', async () => {
    const response = await call('GET', '/tasks', { headers: { 'x-padding': 'x'.repeat(11 * 1024) } });

    expect(response.status).toBe(431);
    expect(response.body).toMatchObject({ error: { code: 'HeadersTooLarge' } });
  });
});

function withoutRequestId(body: Record<string, unknown>): unknown {
  const { requestId: _requestId, ...error } = (body.error ?? {}) as Record<string, unknown>;
  return { ...body, error };
}

describe('malformed paths', () => {
  it('answers a malformed percent-escape in a task id with 404, not a 500', async () => {
    const response = await call('GET', '/tasks/%E0%A4%A');

    expect(response.status).toBe(404);
  });
});
