import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import {
  OffloadApiError,
  OffloadClient,
  type OffloadClientOptions,
  TaskCancelledError,
  TaskFailedError,
  type TaskView,
} from '../../client/index.js';
import type { taskTypes } from '../../functions/tasks/demo.js';
import type { diagnosticTaskTypes } from '../../functions/tasks/registry.js';

type E2eTaskTypes = typeof taskTypes & typeof diagnosticTaskTypes;

const diagnostic = inject('diagnosticTasks');

const newClient = (options: Partial<OffloadClientOptions> = {}) =>
  new OffloadClient<E2eTaskTypes>({ baseUrl: inject('apiUrl'), token: inject('apiToken') || undefined, ...options });

/** Records every wait the client asks for, and waits at most 50 ms of it: the run stays fast. */
function recordingSleep() {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number, signal?: AbortSignal) => {
      delays.push(ms);
      await sleep(Math.min(ms, 50), undefined, { signal });
    },
  };
}

describe.concurrent('OffloadClient against the stack', () => {
  it('submits a task and resolves with its typed result', async () => {
    const client = newClient();

    const task = await client.submit('echo', { hello: 'client' });
    const result = await task.result({ timeoutMs: 20_000 });

    expect(task.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(result).toEqual({ hello: 'client' });
  });

  it('reports progress while a task runs, then resolves', async () => {
    const { sleep } = recordingSleep();
    const client = newClient({ sleep });
    const seen: TaskView[] = [];

    const task = await client.submit('sleep', { ms: 600 });
    const result = await task.result({ timeoutMs: 20_000, onProgress: (view) => seen.push(view) });

    expect(result).toEqual({ sleptMs: 600 });
    expect(seen.map((view) => view.status)).toContain('RUNNING');
    expect(seen.at(-1)?.status).toBe('SUCCEEDED');
  });

  it('waits at least as long as the Retry-After the API sends between polls', async () => {
    const { delays, sleep } = recordingSleep();
    const client = newClient({ sleep, poll: { initialDelayMs: 10, maxDelayMs: 20 } });
    const task = await client.submit('sleep', { ms: 300 });
    const { headers } = await fetch(`${inject('apiUrl')}/tasks/${task.id}`, {
      headers: inject('apiToken') ? { authorization: `Bearer ${inject('apiToken')}` } : {},
    });
    const retryAfterMs = Number(headers.get('retry-after')) * 1000;

    await task.result({ timeoutMs: 20_000 });

    expect(retryAfterMs).toBeGreaterThan(20);
    expect(delays.length).toBeGreaterThan(0);
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(retryAfterMs);
  });

  it.runIf(diagnostic)('rejects with TaskFailedError carrying the task’s error code', async () => {
    const client = newClient();

    const task = await client.submit('fail', { code: 'ClientSaysNo', message: 'Failed for the client test.' });
    const error = await task.result({ timeoutMs: 20_000 }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ code: 'ClientSaysNo', message: 'Failed for the client test.', taskId: task.id });
  });

  it('cancels a running task, and result() rejects with TaskCancelledError', async () => {
    const client = newClient();
    const task = await client.submit('sleep', { ms: 5_000 });
    const running = new AbortController();
    await task
      .result({ onProgress: (view) => view.status === 'RUNNING' && running.abort(), signal: running.signal })
      .catch(() => undefined);

    const requested = await task.cancel();
    const error = await task.result({ timeoutMs: 20_000 }).catch((caught: unknown) => caught);

    expect(requested).toMatchObject({ status: 'RUNNING', cancelRequested: true });
    expect(error).toBeInstanceOf(TaskCancelledError);
    expect(error).toMatchObject({ taskId: task.id, task: { status: 'CANCELLED' } });
  });

  it('stops waiting when the signal aborts, and the task goes on', async () => {
    const client = newClient();
    const task = await client.submit('echo', 'later', { delaySeconds: 2 });
    const controller = new AbortController();

    const waiting = task.result({ signal: controller.signal });
    controller.abort(new Error('caller gave up'));

    await expect(waiting).rejects.toThrow('caller gave up');
    expect((await task.status()).status).toBe('QUEUED');
    await task.cancel();
  });

  it('gives back the same task for a repeated Idempotency-Key', async () => {
    const client = newClient();
    const idempotencyKey = `client-${randomUUID()}`;

    const first = await client.submit('echo', { n: 1 }, { idempotencyKey });
    const again = await client.submit('echo', { n: 1 }, { idempotencyKey });
    const other = await client.submit('echo', { n: 2 }, { idempotencyKey }).catch((caught: unknown) => caught);

    expect(again.id).toBe(first.id);
    expect(other).toMatchObject({ status: 409 });
  });

  it('reads and lists tasks', async () => {
    const client = newClient();
    const task = await client.submit('echo', 'listed');
    await task.result({ timeoutMs: 20_000 });

    const view = await client.get(task.id);
    const first = await client.list({ status: 'SUCCEEDED', limit: 50 });
    const second = first.nextCursor
      ? await client.list({ status: 'SUCCEEDED', limit: 50, cursor: first.nextCursor })
      : undefined;
    const listed = [...first.tasks, ...(second?.tasks ?? [])];

    expect(view).toMatchObject({ taskId: task.id, type: 'echo', status: 'SUCCEEDED', result: 'listed' });
    expect(listed.map((summary) => summary.taskId)).toContain(task.id);
    // A listing carries summaries: the result comes with the task itself.
    expect(listed.find((summary) => summary.taskId === task.id)).not.toHaveProperty('result');
  });

  it.each([
    [
      'a payload the type rejects',
      (client: OffloadClient<E2eTaskTypes>) => client.submit('sleep', { ms: -1 }),
      400,
      'InvalidPayload',
    ],
    ['an unknown task', (client: OffloadClient<E2eTaskTypes>) => client.get(randomUUID()), 404, 'NotFound'],
  ])('raises OffloadApiError for %s', async (_case, act, status, code) => {
    const error = await act(newClient()).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(OffloadApiError);
    expect(error).toMatchObject({ status, code, requestId: expect.any(String) });
  });
});
