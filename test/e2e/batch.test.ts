import { describe, expect, inject, it } from 'vitest';
import { OffloadClient } from '../../client/index.js';
import type { taskTypes } from '../../functions/tasks/demo.js';
import { apiUrl, call, type TaskBody, waitForTask } from './api-client.js';

const otherToken = inject('otherApiToken');

interface BatchResult {
  readonly taskId?: string;
  readonly status?: string;
  readonly location?: string;
  readonly replayed?: true;
  readonly error?: { code: string; message: string };
}

const submitBatch = (tasks: unknown[], headers: Record<string, string> = {}) =>
  call<{ results: BatchResult[] }>('POST', '/tasks/batch', {
    body: JSON.stringify({ tasks }),
    headers: { 'content-type': 'application/json', ...headers },
  });

describe('batches over HTTP', () => {
  it('submits a batch, each item a task of its own, and reads them back in one request', async () => {
    const key = `batch-${Date.now()}-${Math.random()}`;
    const submitted = await submitBatch([
      { type: 'echo', payload: { n: 1 } },
      { type: 'nope' },
      { type: 'echo', payload: { n: 3 }, idempotencyKey: key },
    ]);

    expect(submitted.status).toBe(207);
    const [first, refused, third] = submitted.body.results;
    expect(first).toMatchObject({ status: 'QUEUED', location: `/tasks/${first?.taskId}` });
    expect(refused).toMatchObject({ error: { code: 'UnknownTaskType' } });
    const ids = [first?.taskId ?? '', third?.taskId ?? ''];
    await Promise.all(ids.map((id) => waitForTask(id)));

    const read = await call<{ tasks: TaskBody[] }>('GET', `/tasks?ids=${ids.join(',')}`);

    expect(read.status).toBe(200);
    expect(read.body.tasks.map((t) => [t.taskId, t.status, t.result])).toEqual([
      [ids[0], 'SUCCEEDED', { n: 1 }],
      [ids[1], 'SUCCEEDED', { n: 3 }],
    ]);
    const replay = await submitBatch([{ type: 'echo', payload: { n: 3 }, idempotencyKey: key }]);
    expect(replay.status).toBe(202);
    expect(replay.body.results).toEqual([{ ...third, status: 'SUCCEEDED', replayed: true }]);
  });

  it.runIf(otherToken)('answers another owner’s ids as unknown ones: absent', async () => {
    const { body } = await submitBatch([{ type: 'echo', payload: 1 }]);
    const id = body.results[0]?.taskId ?? '';

    const read = await call<{ tasks: TaskBody[] }>('GET', `/tasks?ids=${id}`, { token: otherToken });

    expect(read).toMatchObject({ status: 200, body: { tasks: [] } });
  });

  it.each([
    ['an empty batch', []],
    ['a batch of 101', Array.from({ length: 101 }, () => ({ type: 'echo' }))],
    [
      'two items with one key',
      [
        { type: 'echo', idempotencyKey: 'same' },
        { type: 'echo', idempotencyKey: 'same' },
      ],
    ],
  ])('answers 400 to %s', async (_case, tasks) => {
    const response = await submitBatch(tasks);

    expect(response.status).toBe(400);
  });

  it('works through the typed client: submitMany, then getMany', async () => {
    const client = new OffloadClient<typeof taskTypes>({ baseUrl: apiUrl, token: inject('apiToken') || undefined });

    const results = await client.submitMany([
      { type: 'echo', payload: 'a' },
      { type: 'sleep', payload: { ms: 10 } },
    ]);
    const handles = results.map((result) => (result.ok ? result.task : undefined));
    const [echoed, slept] = await Promise.all([handles[0]?.result(), handles[1]?.result()]);
    const tasks = await client.getMany(handles.map((handle) => handle?.id ?? ''));

    expect([echoed, slept]).toEqual(['a', { sleptMs: 10 }]);
    expect(tasks.map((task) => task.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  });
});
