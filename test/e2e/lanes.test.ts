import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { call, submit, waitForTask } from './api-client.js';

const { defaultSeconds, longSeconds } = inject('laneTimeouts');
/** Longer than one attempt of the target's default lane, well within its long lane's timeout. */
const LONG_MS = Math.round(((defaultSeconds + longSeconds) / 2) * 1000);
/** What a test run can wait for. */
const MAX_WAIT_MS = 15_000;
const tooSlow = (ctx: { skip(note: string): void }) => {
  if (LONG_MS > MAX_WAIT_MS) {
    ctx.skip(
      `outlasting this stack's ${defaultSeconds}-s default lane takes ${LONG_MS / 1000} s; set OFFLOAD_E2E_WORKER_TIMEOUT_SECONDS and OFFLOAD_E2E_LONG_LANE_TIMEOUT_SECONDS for a test stack with short timeouts`,
    );
  }
};

describe('lanes and priorities', () => {
  it(`runs a longSleep of ${LONG_MS} ms, past the default lane's timeout, in the long lane to SUCCEEDED in one attempt`, async (ctx) => {
    tooSlow(ctx);
    const { status, body } = await submit({ type: 'longSleep', payload: { ms: LONG_MS } });

    expect(status).toBe(202);
    expect(body).toMatchObject({ lane: 'long', priority: 'normal' });
    const done = await waitForTask(body.taskId, { timeoutMs: 25_000 });
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempts: 1, lane: 'long', result: { sleptMs: LONG_MS } });
  });

  it('times out the same sleep in the default lane, where one attempt is shorter', async (ctx) => {
    tooSlow(ctx);
    const { body } = await submit({ type: 'sleep', payload: { ms: LONG_MS } });

    const retrying = await waitForTask(body.taskId, { until: (task) => task.lastError !== undefined });
    expect(retrying).toMatchObject({ lane: 'default', lastError: { code: 'Timeout' } });
    await call('DELETE', `/tasks/${body.taskId}`);
  });

  it.each(['default', 'long'])('runs a high-priority task of the %s lane to SUCCEEDED', async (lane) => {
    const { status, body } = await submit({ type: 'echo', payload: { urgent: true }, priority: 'high', lane });

    expect(status).toBe(202);
    const done = await waitForTask(body.taskId);
    expect(done).toMatchObject({ status: 'SUCCEEDED', lane, priority: 'high', result: { urgent: true } });
  });

  it.each([
    ['an unknown priority', { type: 'echo', payload: {}, priority: 'urgent' }, 'InvalidRequest'],
    ['a lane the stack does not have', { type: 'echo', payload: {}, lane: 'gpu' }, 'UnknownLane'],
  ])('answers 400 for %s and records nothing', async (_case, body, code) => {
    const headers = { 'content-type': 'application/json', 'idempotency-key': randomUUID() };

    const response = await call('POST', '/tasks', { body: JSON.stringify(body), headers });

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code } });
    // Had the key been used, a valid request with it would be a replay (200) or a conflict (409).
    const valid = await call('POST', '/tasks', { body: JSON.stringify({ type: 'echo', payload: {} }), headers });
    expect(valid.status).toBe(202);
  });
});
