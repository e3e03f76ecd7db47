import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../functions/api/http.js';
import { type ApiDeps, handleApiRequest } from '../../functions/api/routes.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { API_ROUTES } from '../../shared/api-routes.js';
import { canonicalJson, sha256Hex } from '../../shared/canonical-json.js';
import { deploymentKeyFrom } from '../../shared/deployment-key.js';
import { DependencyUnavailableError } from '../../shared/errors.js';
import { ownerHasher } from '../../shared/owner-hash.js';
import type { Task } from '../../shared/task.js';
import type { TaskDataLimits } from '../../shared/task-data.js';
import {
  getTaskRequest,
  httpRequestFactory,
  OTHER_OWNER,
  submitRequest,
  TEST_OWNER,
  taskFactory,
} from '../support/factories.js';
import { FakeTaskQueue } from '../support/fake-task-queue.js';
import { FakeClock, RecordingLog } from '../support/fakes.js';
import { InMemoryBlobStore } from '../support/in-memory-blob-store.js';
import { InMemoryTaskStore } from '../support/in-memory-task-store.js';

const LIMITS: TaskDataLimits = {
  inlineMaxBytes: 64,
  maxObjectBytes: 1_000,
  uploadUrlSeconds: 300,
  downloadUrlSeconds: 120,
  maxArtifacts: 10,
};
const ownerHash = ownerHasher(deploymentKeyFrom('k'.repeat(43)));
const HASH = ownerHash(TEST_OWNER);

function setup(tasks: readonly Task[] = []) {
  const store = new InMemoryTaskStore(tasks);
  const queue = new FakeTaskQueue();
  const clock = new FakeClock();
  const blobs = new InMemoryBlobStore(() => clock.epochMs);
  const log = new RecordingLog();
  const deps: ApiDeps = {
    store,
    queue,
    registry: createTaskRegistry({ tasks: demoTaskTypes, diagnostic: true }),
    clock: clock.now,
    log,
    maxBodyBytes: 4_096,
    retryAfterSeconds: 1,
    defaultMaxAttempts: 3,
    ttlDays: 7,
    ownerHash,
    taskData: { blobs, limits: LIMITS },
  };
  return { store, queue, clock, blobs, log, deps };
}

const json = (response: HttpResponse): Record<string, unknown> => JSON.parse(response.body);
const errorOf = (response: HttpResponse) =>
  json(response).error as { code: string; message: string; details?: { path: string; message: string }[] };

/** A JSON string of `bytes` bytes: `"xxx…"`. */
const textOfJsonBytes = (bytes: number) => 'x'.repeat(bytes - 2);

const uploadRequest = (body: unknown, ownerId = TEST_OWNER) =>
  httpRequestFactory({
    routeKey: API_ROUTES.createUpload,
    method: 'POST',
    path: '/tasks/uploads',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
    ownerId,
  });

/** Reserves an upload as `ownerId` and PUTs `text` through its URL, as a caller would. */
async function uploaded(env: ReturnType<typeof setup>, text: string, ownerId = TEST_OWNER): Promise<string> {
  const ticket = json(
    await handleApiRequest(uploadRequest({ contentLength: Buffer.byteLength(text) }, ownerId), env.deps),
  );
  expect(env.blobs.upload(String(ticket.uploadUrl), text).status).toBe(200);
  return String(ticket.payloadRef);
}

describe('POST /tasks with a payload too large for the item', () => {
  it('keeps a payload of up to inlineMaxBytes in the item', async () => {
    const env = setup();
    const payload = textOfJsonBytes(LIMITS.inlineMaxBytes);

    const response = await handleApiRequest(submitRequest({ type: 'echo', payload }), env.deps);

    const stored = env.store.peek(String(json(response).taskId));
    expect(stored).toMatchObject({ payload, ownerHash: HASH });
    expect(stored?.payloadRef).toBeUndefined();
    expect(env.blobs.keys()).toEqual([]);
  });

  it('moves a larger one to the bucket under the owner’s hash and the task id; the item keeps its reference', async () => {
    const env = setup();
    const payload = textOfJsonBytes(LIMITS.inlineMaxBytes + 1);

    const response = await handleApiRequest(submitRequest({ type: 'echo', payload }), env.deps);

    expect(response.statusCode).toBe(202);
    const taskId = String(json(response).taskId);
    const stored = env.store.peek(taskId);
    const key = env.blobs.keys()[0] ?? '';
    expect(key).toMatch(new RegExp(`^${HASH}/${taskId}/payload-[0-9a-f]{8}\\.json$`));
    expect(env.blobs.text(key)).toBe(JSON.stringify(payload));
    expect(stored?.payload).toBeUndefined();
    expect(stored).toMatchObject({
      payloadRef: { key, size: LIMITS.inlineMaxBytes + 1, etag: expect.any(String) },
      ownerHash: HASH,
      // Replays compare the payload, wherever it is kept.
      payloadHash: sha256Hex(canonicalJson({ type: 'echo', payload, delaySeconds: 0 })),
    });
  });

  it('answers 503 and records nothing when the bucket cannot be reached', async () => {
    const env = setup();
    env.blobs.failNext('put', new DependencyUnavailableError('task data bucket'));

    const response = await handleApiRequest(submitRequest({ type: 'echo', payload: textOfJsonBytes(200) }), env.deps);

    expect(response.statusCode).toBe(503);
    expect(env.store.size).toBe(0);
    expect(env.queue.enqueued).toEqual([]);
  });

  it.each([
    ['the same body', textOfJsonBytes(200), 200],
    ['another body', textOfJsonBytes(300), 409],
  ])('on a replay with %s, deletes the object it wrote and leaves the first task’s', async (_label, second, status) => {
    const env = setup();
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'k-1' };
    const first = await handleApiRequest(
      submitRequest({ type: 'echo', payload: textOfJsonBytes(200) }, { headers }),
      env.deps,
    );
    const firstKeys = env.blobs.keys();

    const replay = await handleApiRequest(submitRequest({ type: 'echo', payload: second }, { headers }), env.deps);

    expect(replay.statusCode).toBe(status);
    expect(env.blobs.keys()).toEqual(firstKeys);
    expect(env.store.peek(String(json(first).taskId))?.payloadRef?.key).toBe(firstKeys[0]);
  });
});

describe('POST /tasks/uploads', () => {
  it('answers 201 with a URL for exactly that many bytes under the caller’s prefix, valid uploadUrlSeconds', async () => {
    const env = setup();

    const response = await handleApiRequest(uploadRequest({ contentLength: 500 }), env.deps);

    expect(response.statusCode).toBe(201);
    const ticket = json(response);
    expect(ticket).toEqual({
      uploadUrl: expect.any(String),
      payloadRef: expect.stringMatching(/^[0-9a-f-]{36}$/),
      expiresAt: new Date(env.clock.epochMs + LIMITS.uploadUrlSeconds * 1000).toISOString(),
    });
    const url = new URL(String(ticket.uploadUrl));
    expect(url.pathname).toBe(`/${HASH}/${ticket.payloadRef}/payload.json`);
    expect(url.searchParams.get('length')).toBe('500');
    // Nothing is recorded until the payload is submitted.
    expect(env.store.size).toBe(0);
    expect(env.blobs.keys()).toEqual([]);
  });

  it.each([
    [{ contentLength: LIMITS.maxObjectBytes + 1 }, 'UploadTooLarge'],
    [{ contentLength: 0 }, 'InvalidRequest'],
    [{ contentLength: 1.5 }, 'InvalidRequest'],
    [{ contentLength: '10' }, 'InvalidRequest'],
    [{}, 'InvalidRequest'],
    [{ contentLength: 10, extra: 1 }, 'InvalidRequest'],
  ])('answers 400 to %j (%s)', async (body, code) => {
    const env = setup();

    const response = await handleApiRequest(uploadRequest(body), env.deps);

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).code).toBe(code);
  });
});

describe('POST /tasks with a payloadRef', () => {
  it('records the task with the uploaded object as its payload', async () => {
    const env = setup();
    const text = JSON.stringify({ doc: 'y'.repeat(600) });
    const payloadRef = await uploaded(env, text);

    const response = await handleApiRequest(submitRequest({ type: 'echo', payloadRef }), env.deps);

    expect(response.statusCode).toBe(202);
    const stored = env.store.peek(String(json(response).taskId));
    expect(stored?.payload).toBeUndefined();
    expect(stored?.payloadRef).toEqual({
      key: `${HASH}/${payloadRef}/payload.json`,
      size: text.length,
      etag: expect.any(String),
    });
    expect(env.queue.enqueued).toHaveLength(1);
  });

  it.each([
    ['another owner’s reference', async (env: ReturnType<typeof setup>) => uploaded(env, '{"a":1}', OTHER_OWNER)],
    [
      'a reference never uploaded',
      async (env: ReturnType<typeof setup>) => {
        const ticket = json(await handleApiRequest(uploadRequest({ contentLength: 7 }), env.deps));
        return String(ticket.payloadRef);
      },
    ],
    ['a malformed reference', async () => '../../other/payload'],
  ])('answers %s like a missing upload: 400 InvalidPayloadRef, nothing recorded', async (_label, refOf) => {
    const env = setup();
    const payloadRef = await refOf(env);

    const response = await handleApiRequest(submitRequest({ type: 'echo', payloadRef }), env.deps);

    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toMatchObject({
      code: 'InvalidPayloadRef',
      message: 'No uploaded payload for this payloadRef: it was never uploaded, has expired, or is not yours.',
    });
    expect(env.store.size).toBe(0);
    expect(env.queue.enqueued).toEqual([]);
  });

  it('answers 400 for an object over the limit without reading it', async () => {
    const env = setup();
    const payloadRef = '00000000-0000-4000-8000-000000000001';
    await env.blobs.put(`${HASH}/${payloadRef}/payload.json`, Buffer.alloc(LIMITS.maxObjectBytes + 1, 32), 'x/y');

    const response = await handleApiRequest(submitRequest({ type: 'echo', payloadRef }), env.deps);

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).code).toBe('InvalidPayloadRef');
    expect(env.store.size).toBe(0);
  });

  it.each([
    ['not JSON', '{"ms":', 'payloadRef'],
    ['JSON not valid for the type', '{"ms":"soon"}', 'payload.ms'],
  ])('answers 400 InvalidPayload for an upload that is %s', async (_label, text, path) => {
    const env = setup();
    const payloadRef = await uploaded(env, text);

    const response = await handleApiRequest(submitRequest({ type: 'sleep', payloadRef }), env.deps);

    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toMatchObject({ code: 'InvalidPayload', details: [expect.objectContaining({ path })] });
    expect(env.store.size).toBe(0);
  });

  it('answers 400 to a body with both payload and payloadRef', async () => {
    const env = setup();
    const payloadRef = await uploaded(env, '{}');

    const response = await handleApiRequest(submitRequest({ type: 'echo', payload: {}, payloadRef }), env.deps);

    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details).toEqual([{ path: 'payloadRef', message: 'not allowed together with payload' }]);
  });
});

describe('GET /tasks/{taskId} of a task with data in the bucket', () => {
  const resultRef = { key: `${HASH}/t/1/result.json`, size: 5_000 };
  const artifacts = [{ name: 'chart.png', key: `${HASH}/t/1/artifacts/chart.png`, size: 10, contentType: 'image/png' }];

  it('carries a fresh resultUrl instead of the result, and a URL per artifact', async () => {
    const task = taskFactory({ status: 'SUCCEEDED', attempt: 1, resultRef, artifacts, ownerHash: HASH });
    const env = setup([task]);
    await env.blobs.put(resultRef.key, Buffer.from('"big"'), 'application/json');

    const body = json(await handleApiRequest(getTaskRequest(task.taskId), env.deps));

    expect(body).not.toHaveProperty('result');
    expect(env.blobs.download(String(body.resultUrl))).toEqual({ status: 200, body: Buffer.from('"big"') });
    expect(body.artifacts).toEqual([
      { name: 'chart.png', size: 10, contentType: 'image/png', url: expect.stringContaining('chart.png') },
    ]);
    // Short-lived: minted for downloadUrlSeconds on each read.
    env.clock.advance(LIMITS.downloadUrlSeconds * 1000 + 1);
    expect(env.blobs.download(String(body.resultUrl)).status).toBe(403);
    const again = json(await handleApiRequest(getTaskRequest(task.taskId), env.deps));
    expect(env.blobs.download(String(again.resultUrl)).status).toBe(200);
  });

  it('mints nothing for another owner, who gets the same 404 as for a missing task', async () => {
    const task = taskFactory({ status: 'SUCCEEDED', attempt: 1, resultRef, ownerHash: HASH });
    const env = setup([task]);

    const response = await handleApiRequest(getTaskRequest(task.taskId, { ownerId: OTHER_OWNER }), env.deps);

    expect(response.statusCode).toBe(404);
    expect(env.blobs.calls).toEqual([]);
  });
});

describe('DELETE /tasks/{taskId} of a QUEUED task with data in the bucket', () => {
  const cancelRequest = (taskId: string) =>
    httpRequestFactory({
      routeKey: API_ROUTES.cancelTask,
      method: 'DELETE',
      path: `/tasks/${taskId}`,
      pathParameters: { taskId },
    });

  it('deletes the payload object the API moved out of the body', async () => {
    const env = setup();
    const submitted = json(
      await handleApiRequest(submitRequest({ type: 'echo', payload: textOfJsonBytes(300) }), env.deps),
    );

    const response = await handleApiRequest(cancelRequest(String(submitted.taskId)), env.deps);

    expect(json(response).status).toBe('CANCELLED');
    expect(env.blobs.keys()).toEqual([]);
  });

  it('leaves an uploaded payload, which other tasks may share, to the bucket’s expiry', async () => {
    const env = setup();
    const payloadRef = await uploaded(env, '{"shared":true}');
    const submitted = json(await handleApiRequest(submitRequest({ type: 'echo', payloadRef }), env.deps));

    await handleApiRequest(cancelRequest(String(submitted.taskId)), env.deps);

    expect(env.blobs.keys()).toEqual([`${HASH}/${payloadRef}/payload.json`]);
  });
});
