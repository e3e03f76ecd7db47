import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { OffloadClient } from '../../client/index.js';
import type { taskTypes } from '../../functions/tasks/demo.js';
import type { diagnosticTaskTypes } from '../../functions/tasks/registry.js';
import { call, submit, type TaskBody, waitForTask } from './api-client.js';
import { E2E_URL_SECONDS } from './local-test-settings.js';

type E2eTaskTypes = typeof taskTypes & typeof diagnosticTaskTypes;

const MB = 1024 * 1024;
const isLocal = !process.env.API_URL;
const otherToken = inject('otherApiToken');
const client = new OffloadClient<E2eTaskTypes>({ baseUrl: inject('apiUrl'), token: inject('apiToken') || undefined });

interface Ticket {
  uploadUrl: string;
  payloadRef: string;
  expiresAt: string;
}

const reserve = (contentLength: number, token?: string | null) =>
  call<Ticket>('POST', '/tasks/uploads', {
    body: JSON.stringify({ contentLength }),
    headers: { 'content-type': 'application/json' },
    token,
  });

const put = async (url: string, body: string) => {
  const response = await fetch(url, { method: 'PUT', body, headers: { 'content-type': 'application/json' } });
  return { status: response.status, text: await response.text() };
};

interface ArtifactBody {
  name: string;
  size: number;
  contentType: string;
  url: string;
}

describe.runIf(inject('diagnosticTasks'))('large inputs and outputs (task data bucket)', () => {
  it('runs a 5 MB input submitted through the client and brings its 2 MB result back through result()', async () => {
    const text = 'offload '.repeat((5 * MB) / 8);

    const task = await client.submit('bulk', { text, resultBytes: 2 * MB });
    const result = await task.result({ timeoutMs: 25_000 });

    expect(result.textBytes).toBe(5 * MB);
    expect(result.sha256).toBe(createHash('sha256').update(text).digest('hex'));
    expect(result.padding).toHaveLength(2 * MB);
    // The task record holds a URL, not the 2 MB.
    const view = await client.get(task.id);
    expect(view.result).toBeUndefined();
    expect(view.resultUrl).toMatch(/^https?:\/\//);
  });

  it('keeps a payload above the inline threshold out of the record and still runs it', async () => {
    const { status, body } = await submit({ type: 'bulk', payload: { text: 'z'.repeat(100 * 1024) } });

    expect(status).toBe(202);
    const done = await waitForTask(body.taskId);
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: { textBytes: 100 * 1024 } });
  });

  it('lists the files a task wrote, each with a URL that serves it', async () => {
    const files = [
      { name: 'report.csv', text: 'a,b\n1,2\n', contentType: 'text/csv' },
      { name: 'notes.txt', text: 'hello' },
    ];
    const { body } = await submit({ type: 'bulk', payload: { files } });

    const done = (await waitForTask(body.taskId)) as TaskBody & { artifacts?: ArtifactBody[] };

    expect(done.artifacts?.map(({ name, size, contentType }) => ({ name, size, contentType }))).toEqual([
      { name: 'report.csv', size: 8, contentType: 'text/csv' },
      { name: 'notes.txt', size: 5, contentType: 'application/octet-stream' },
    ]);
    const downloaded = await fetch(done.artifacts?.[0]?.url ?? '');
    expect(await downloaded.text()).toBe('a,b\n1,2\n');
  });

  it('fails a task whose file name climbs out of its folder, with InvalidArtifact', async () => {
    const { body } = await submit({ type: 'bulk', payload: { files: [{ name: '../escape', text: 'x' }] } });

    expect(await waitForTask(body.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'InvalidArtifact' } });
  });

  it.runIf(Boolean(otherToken))(
    'refuses another owner’s payloadRef as if it did not exist, recording nothing',
    async () => {
      const ticket = (await reserve(9, otherToken)).body;
      expect((await put(ticket.uploadUrl, '{"a":123}')).status).toBe(200);

      const response = await call<{ error: { code: string } }>('POST', '/tasks', {
        body: JSON.stringify({ type: 'echo', payloadRef: ticket.payloadRef }),
        headers: { 'content-type': 'application/json' },
      });

      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('InvalidPayloadRef');
      // The owner can use it.
      const own = await call('POST', '/tasks', {
        body: JSON.stringify({ type: 'echo', payloadRef: ticket.payloadRef }),
        headers: { 'content-type': 'application/json' },
        token: otherToken,
      });
      expect(own.status).toBe(202);
    },
  );

  it('refuses an upload of another size than reserved, and a submit of that ref finds nothing', async () => {
    const ticket = (await reserve(10)).body;

    const upload = await put(ticket.uploadUrl, '{"n":12345678}');

    expect(upload.status).toBe(403);
    expect(upload.text).toContain('SignatureDoesNotMatch');
    const response = await call<{ error: { code: string } }>('POST', '/tasks', {
      body: JSON.stringify({ type: 'echo', payloadRef: ticket.payloadRef }),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.body.error.code).toBe('InvalidPayloadRef');
  });

  it('answers 400 to an upload larger than the limit', async () => {
    const response = await reserve(1024 * MB);

    expect(response.status).toBe(400);
  });

  it.runIf(isLocal)('expires its presigned URLs: an upload after the URL’s lifetime is refused', async () => {
    const ticket = (await reserve(2)).body;
    expect(Date.parse(ticket.expiresAt) - Date.now()).toBeLessThanOrEqual(E2E_URL_SECONDS * 1000);

    await sleep(E2E_URL_SECONDS * 1000 + 1_100);
    const upload = await put(ticket.uploadUrl, '{}');

    expect(upload.status).toBe(403);
    expect(upload.text).toContain('Request has expired');
  });

  it.runIf(isLocal)('expires a result URL, and each read of the task mints a fresh one', async () => {
    const task = await client.submit('bulk', { resultBytes: 10_000 });
    await task.result({ timeoutMs: 20_000 });
    const first = (await client.get(task.id)).resultUrl ?? '';

    await sleep(E2E_URL_SECONDS * 1000 + 1_100);

    expect((await fetch(first)).status).toBe(403);
    const fresh = await fetch((await client.get(task.id)).resultUrl ?? '');
    expect(fresh.status).toBe(200);
    expect(JSON.parse(await fresh.text())).toMatchObject({ textBytes: 0 });
  });
});
