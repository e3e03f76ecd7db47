import { describe, expect, it } from 'vitest';
import { OffloadClient, OffloadClientError, type TaskView } from '../../client/index.js';

const TASK_ID = '6f1c8a52-3a5e-4c1e-9d8e-1b2c3d4e5f60';
const UPLOAD_URL = 'https://bucket.s3.amazonaws.com/h/u/payload.json?X-Amz-Signature=abc';
const RESULT_URL = 'https://bucket.s3.amazonaws.com/h/t/1/result.json?X-Amz-Signature=def';

const view = (overrides: Partial<TaskView> = {}): TaskView => ({
  taskId: TASK_ID,
  type: 'echo',
  status: 'QUEUED',
  lane: 'default',
  priority: 'normal',
  attempts: 0,
  maxAttempts: 3,
  createdAt: '2026-11-26T12:00:00.000Z',
  updatedAt: '2026-11-26T12:00:00.000Z',
  ...overrides,
});

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const text = (status: number, body = '') => new Response(body, { status });
const ticket = () => json(201, { uploadUrl: UPLOAD_URL, payloadRef: 'ref-1', expiresAt: '2026-11-26T12:05:00.000Z' });

/** A fetch that answers from a script and records each request, bodies as text. */
function fakeApi(answers: (Response | Error)[], options: { maxBodyBytes?: number; baseUrl?: string } = {}) {
  const requests: { method: string; url: string; headers: Headers; body?: string }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const body = init?.body;
    requests.push({
      method: init?.method ?? 'GET',
      url: String(input),
      headers: new Headers(init?.headers),
      body: body instanceof Uint8Array ? new TextDecoder().decode(body) : (body as string | undefined),
    });
    const answer = answers.shift();
    if (!answer) throw new Error('the fake API ran out of answers');
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const client = new OffloadClient({
    baseUrl: options.baseUrl ?? 'https://api.example.com',
    token: 'tok',
    fetch,
    random: () => 0.5,
    sleep: async () => {},
    maxBodyBytes: options.maxBodyBytes ?? 100,
  });
  return { client, requests };
}

describe('OffloadClient.submitMany within the body limit', () => {
  const accepted = (taskId: string) => ({ taskId, status: 'QUEUED', location: `/tasks/${taskId}` });

  it('packs items into requests that stay within the body limit, in order', async () => {
    const { client, requests } = fakeApi(
      [json(202, { results: [accepted('a'), accepted('b')] }), json(202, { results: [accepted('c')] })],
      { maxBodyBytes: 150 },
    );

    const results = await client.submitMany(
      ['a', 'b', 'c'].map((n) => ({ type: 'echo', payload: { n }, idempotencyKey: `key-${n}` })),
    );

    expect(results.map((result) => result.ok && result.task.id)).toEqual(['a', 'b', 'c']);
    const bodies = requests.map((request) => request.body ?? '');
    expect(bodies.map((body) => JSON.parse(body).tasks.map((t: { payload: { n: string } }) => t.payload.n))).toEqual([
      ['a', 'b'],
      ['c'],
    ]);
    for (const body of bodies) expect(new TextEncoder().encode(body).length).toBeLessThanOrEqual(150);
  });

  it('uploads the payload of an item too large to share a request, and sends its reference with its fields', async () => {
    const { client, requests } = fakeApi([ticket(), text(200), json(202, { results: [accepted('a')] })]);

    await client.submitMany([
      {
        type: 'echo',
        payload: { text: 'x'.repeat(200) },
        idempotencyKey: 'k',
        runAt: new Date('2027-01-01T08:00:00Z'),
        priority: 'high',
      },
    ]);

    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST https://api.example.com/tasks/uploads',
      `PUT ${UPLOAD_URL}`,
      'POST https://api.example.com/tasks/batch',
    ]);
    expect(JSON.parse(requests[2]?.body ?? '').tasks).toEqual([
      { type: 'echo', payloadRef: 'ref-1', idempotencyKey: 'k', runAt: '2027-01-01T08:00:00.000Z', priority: 'high' },
    ]);
  });
});

describe('OffloadClient with payloads too large for a request body', () => {
  it('sends a payload that fits in the body as is', async () => {
    const { client, requests } = fakeApi([json(202, view())]);

    await client.submit('echo', { small: true });

    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST https://api.example.com/tasks']);
  });

  it('uploads a larger one through a presigned URL without the token, then submits its reference', async () => {
    const payload = { text: 'x'.repeat(200) };
    const { client, requests } = fakeApi([ticket(), text(200), json(202, view())]);

    const task = await client.submit('echo', payload, { delaySeconds: 5, idempotencyKey: 'k-1' });

    expect(task.id).toBe(TASK_ID);
    const [reserve, put, submit] = requests;
    expect(reserve).toMatchObject({ method: 'POST', url: 'https://api.example.com/tasks/uploads' });
    expect(JSON.parse(reserve?.body ?? '')).toEqual({ contentLength: JSON.stringify(payload).length });
    expect(put).toMatchObject({ method: 'PUT', url: UPLOAD_URL, body: JSON.stringify(payload) });
    expect(put?.headers.get('authorization')).toBeNull();
    expect(JSON.parse(submit?.body ?? '')).toEqual({ type: 'echo', payloadRef: 'ref-1', delaySeconds: 5 });
    expect(submit?.headers.get('idempotency-key')).toBe('k-1');
  });

  it('counts bytes, not characters', async () => {
    // 40 three-byte characters: 120 bytes of body over a 100-byte limit, in well under 100 characters.
    const { client, requests } = fakeApi([ticket(), text(200), json(202, view())]);

    await client.submit('echo', '€'.repeat(40));

    expect(requests[0]?.url).toBe('https://api.example.com/tasks/uploads');
  });

  it('repeats an upload the storage answered with 503, and submits once it is stored', async () => {
    const { client, requests } = fakeApi([
      ticket(),
      text(503),
      new TypeError('fetch failed'),
      text(200),
      json(202, view()),
    ]);

    await client.submit('echo', 'y'.repeat(200));

    expect(requests.map((r) => r.method)).toEqual(['POST', 'PUT', 'PUT', 'PUT', 'POST']);
  });

  it('rejects with UploadFailed and submits nothing when the upload is refused', async () => {
    const { client, requests } = fakeApi([ticket(), text(403, '<Error><Code>SignatureDoesNotMatch</Code></Error>')]);

    const error = await client.submit('echo', 'y'.repeat(200)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OffloadClientError);
    expect(error).toMatchObject({ code: 'UploadFailed' });
    expect(requests.filter((r) => r.url.endsWith('/tasks'))).toEqual([]);
  });

  it('refuses an upload URL in plain http to another host', async () => {
    const { client } = fakeApi([json(201, { uploadUrl: 'http://evil.example.com/x', payloadRef: 'r', expiresAt: '' })]);

    await expect(client.submit('echo', 'y'.repeat(200))).rejects.toMatchObject({ code: 'InsecureUrl' });
  });
});

describe('TaskHandle.result of a result kept outside the task', () => {
  it('downloads it from resultUrl, without the token', async () => {
    const { client, requests } = fakeApi([
      json(200, view({ status: 'SUCCEEDED', resultUrl: RESULT_URL })),
      text(200, '{"rows":[1,2,3]}'),
    ]);

    const result = await client.task(TASK_ID).result();

    expect(result).toEqual({ rows: [1, 2, 3] });
    expect(requests[1]).toMatchObject({ method: 'GET', url: RESULT_URL });
    expect(requests[1]?.headers.get('authorization')).toBeNull();
  });

  it('asks for a fresh URL when the first one expired before the download', async () => {
    const fresh = `${RESULT_URL}&fresh=1`;
    const { client, requests } = fakeApi([
      json(200, view({ status: 'SUCCEEDED', resultUrl: RESULT_URL })),
      text(403, '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>'),
      json(200, view({ status: 'SUCCEEDED', resultUrl: fresh })),
      text(200, '"done"'),
    ]);

    expect(await client.task(TASK_ID).result()).toBe('done');
    expect(requests.at(-1)?.url).toBe(fresh);
  });

  it('rejects with DownloadFailed when the fresh URL is refused too', async () => {
    const { client } = fakeApi([
      json(200, view({ status: 'SUCCEEDED', resultUrl: RESULT_URL })),
      text(403),
      json(200, view({ status: 'SUCCEEDED', resultUrl: RESULT_URL })),
      text(403),
    ]);

    await expect(client.task(TASK_ID).result()).rejects.toMatchObject({ code: 'DownloadFailed' });
  });
});
