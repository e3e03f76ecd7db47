import { describe, expect, inject, it } from 'vitest';
import { call, submit, type TaskBody, waitForTask } from './api-client.js';

describe('submitting and fetching tasks', () => {
  it('runs an echo task to SUCCEEDED with its payload as the result', async () => {
    const accepted = await submit({ type: 'echo', payload: { hello: 'world' } });

    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ type: 'echo', status: 'QUEUED', attempts: 0 });
    expect(accepted.headers.get('location')).toBe(`/tasks/${accepted.body.taskId}`);
    expect(Number(accepted.headers.get('retry-after'))).toBeGreaterThan(0);

    const done = await waitForTask(accepted.body.taskId);
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: { hello: 'world' }, attempts: 1 });
  });

  it('shows a long task RUNNING with its progress before it SUCCEEDS', async () => {
    const { body } = await submit({ type: 'sleep', payload: { ms: 600 } });

    const running = await waitForTask(body.taskId, { until: (t) => t.status !== 'QUEUED' });
    expect(running.status).toBe('RUNNING');
    const reporting = await waitForTask(body.taskId, { until: (t) => t.progress !== undefined });
    expect(reporting.progress?.percent).toBeGreaterThan(0);
    expect(reporting.progress?.message).toMatch(/^slept \d+ of 600 ms$/);
    const done = await waitForTask(body.taskId);
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: { sleptMs: 600 } });
  });

  it('holds a delayed task back for delaySeconds', async () => {
    const submittedAt = Date.now();
    const { body } = await submit({ type: 'echo', payload: 1, delaySeconds: 1 });

    const done = await waitForTask(body.taskId);
    expect(done.status).toBe('SUCCEEDED');
    expect(Date.now() - submittedAt).toBeGreaterThanOrEqual(900);
  });

  it('answers 404 for an unknown task id', async () => {
    const response = await call('GET', '/tasks/00000000-0000-4000-8000-000000000000');

    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ error: { code: 'NotFound' } });
  });
});

describe('rejecting bad submissions', () => {
  it.each([
    ['an unknown type', { type: 'no-such-type', payload: {} }, 'UnknownTaskType'],
    ['a payload that breaks the type schema', { type: 'sleep', payload: { ms: 'soon' } }, 'InvalidPayload'],
    ['an unknown field', { type: 'echo', payload: {}, colour: 1 }, 'InvalidRequest'],
    ['delaySeconds above 900', { type: 'echo', payload: {}, delaySeconds: 901 }, 'InvalidRequest'],
  ])('answers 400 for %s', async (_case, body, code) => {
    const response = await submit(body);

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code } });
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await call('POST', '/tasks', {
      body: '{"type":',
      headers: { 'content-type': 'application/json' },
    });

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'InvalidJson' } });
  });

  it('answers 415 for a body that is not declared JSON', async () => {
    const response = await call('POST', '/tasks', { body: 'type=echo', headers: { 'content-type': 'text/plain' } });

    expect(response.status).toBe(415);
  });

  it('answers 413 for a body over the limit', async () => {
    const payload = { blob: 'x'.repeat(300 * 1024) };
    const response = await submit({ type: 'echo', payload });

    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ error: { code: 'PayloadTooLarge' } });
  });

  it('answers 405 with Allow for a known path and another method', async () => {
    const response = await call('PUT', '/tasks');

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
  });
});

describe.runIf(inject('diagnosticTasks'))('failures', () => {
  it('ends a task that fails permanently FAILED with its code, after one attempt', async () => {
    const { body } = await submit({ type: 'fail', payload: { code: 'BadInput', message: 'no good' } });

    const done = await waitForTask(body.taskId);
    expect(done).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'BadInput', message: 'no good' } });
  });

  it('retries a task whose handler throws, and records the successful attempt', async () => {
    const { body } = await submit({ type: 'flaky', payload: { failures: 1 } });

    const done = await waitForTask(body.taskId);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 2, result: { attempt: 2 } });
  });

  it('fails a task whose worker keeps crashing once its crashed attempts use up its budget', async (ctx) => {
    // Each crashed attempt is taken over only after the visibility timeout: three of them must fit the wait.
    const { visibilityTimeoutSeconds } = inject('crashRecovery');
    const waitMs = 25_000;
    if (3 * visibilityTimeoutSeconds * 1000 > waitMs) {
      ctx.skip(
        `crash recovery takes 3 × ${visibilityTimeoutSeconds} s on this stack; deploy a test stack with a short worker timeout (README "Deploy to AWS") and set OFFLOAD_E2E_VISIBILITY_TIMEOUT_SECONDS`,
      );
    }
    const { body } = await submit({ type: 'crash', payload: {} });

    const done = await waitForTask(body.taskId, { timeoutMs: waitMs });
    // Three crashed attempts, each taken over after its lease; the fourth claim records the exhaustion.
    expect(done).toMatchObject({ status: 'FAILED', attempts: 4, error: { code: 'AttemptsExhausted' } });
  });
});

describe('Idempotency-Key', () => {
  const withKey = (key: string, body: unknown) =>
    call<TaskBody>('POST', '/tasks', {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
    });

  it('returns the original task for a retried submission and 409 for a reused key', async () => {
    const key = `e2e-${Date.now()}-${Math.random()}`;

    const first = await withKey(key, { type: 'echo', payload: { n: 1 } });
    const retry = await withKey(key, { type: 'echo', payload: { n: 1 } });
    const reused = await withKey(key, { type: 'echo', payload: { n: 2 } });

    expect(first.status).toBe(202);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.taskId).toBe(first.body.taskId);
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ error: { code: 'IdempotencyKeyReused' } });
  });

  it.each([
    ['longer than 255 characters', 'k'.repeat(256)],
    // A tab is the one control character HTTP lets through in a header value.
    ['with a control character', 'key\twith-tab'],
  ])('rejects a key %s with 400', async (_case, key) => {
    const response = await withKey(key, { type: 'echo', payload: 1 });

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'InvalidIdempotencyKey' } });
  });
});
