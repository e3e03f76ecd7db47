import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../shared/aws/s3-blob-store.js';
import type { BlobStore } from '../../shared/ports.js';
import { BlobChangedError, BlobTooLargeError } from '../../shared/task-data.js';
import { startEmulatedAws } from '../support/emulated-aws.js';
import { InMemoryBlobStore } from '../support/in-memory-blob-store.js';

/** A store with what a caller does with its presigned URLs, and a clock the URLs expire by. */
interface BlobHarness {
  readonly store: BlobStore;
  upload(url: string, body: string | Buffer): Promise<number>;
  download(url: string): Promise<{ status: number; body?: string }>;
  /** Moves the clock that presigned URLs expire by. */
  advance(ms: number): void;
  stop(): Promise<void>;
}

async function inMemory(): Promise<BlobHarness> {
  let offset = 0;
  const store = new InMemoryBlobStore(() => Date.now() + offset);
  return {
    store,
    upload: async (url, body) => store.upload(url, body).status,
    download: async (url) => {
      const { status, body } = store.download(url);
      return { status, body: body?.toString('utf8') };
    },
    advance: (ms) => {
      offset += ms;
    },
    stop: async () => {},
  };
}

/** S3BlobStore with the functions' client configuration, against fauxqs and the local presigned-URL check. */
async function onFauxqs(): Promise<BlobHarness> {
  let offset = 0;
  const aws = await startEmulatedAws({ now: () => Date.now() + offset });
  const store = new S3BlobStore(aws.s3, aws.resources.taskDataBucket);
  return {
    store,
    upload: async (url, body) => {
      const response = await fetch(url, { method: 'PUT', body });
      await response.arrayBuffer();
      return response.status;
    },
    download: async (url) => {
      const response = await fetch(url);
      const text = await response.text();
      return { status: response.status, ...(response.ok && { body: text }) };
    },
    advance: (ms) => {
      offset += ms;
    },
    stop: () => aws.stop(),
  };
}

let sequence = 0;
const key = (name: string) => `0123456789abcdef/${++sequence}/${name}`;

describe.each([
  ['InMemoryBlobStore', inMemory],
  ['S3BlobStore on fauxqs', onFauxqs],
])('BlobStore contract: %s', (_name, makeHarness) => {
  let harness: BlobHarness;
  let store: BlobStore;
  beforeAll(async () => {
    harness = await makeHarness();
    store = harness.store;
  });
  afterAll(() => harness.stop());

  it('reads back what it stored, with its size and ETag', async () => {
    const k = key('payload.json');
    const { etag } = await store.put(k, Buffer.from('{"a":1}'), 'application/json');

    const object = await store.get(k);

    expect(object).toEqual({ body: Buffer.from('{"a":1}'), size: 7, etag });
    expect(etag).toEqual(expect.any(String));
  });

  it('answers undefined for a key without an object', async () => {
    expect(await store.get(key('missing.json'))).toBeUndefined();
  });

  it('refuses to read an object larger than asked for', async () => {
    const k = key('big.json');
    await store.put(k, Buffer.alloc(100, 32), 'application/json');

    await expect(store.get(k, { maxBytes: 99 })).rejects.toThrow(BlobTooLargeError);
    expect((await store.get(k, { maxBytes: 100 }))?.size).toBe(100);
  });

  it('refuses to read an object replaced since its ETag was taken', async () => {
    const k = key('payload.json');
    const first = await store.put(k, Buffer.from('"one"'), 'application/json');
    const second = await store.put(k, Buffer.from('"two"'), 'application/json');

    await expect(store.get(k, { ifMatch: first.etag })).rejects.toThrow(BlobChangedError);
    expect((await store.get(k, { ifMatch: second.etag }))?.body.toString()).toBe('"two"');
  });

  it.each([1, 3])('deletes %i objects, and keys without one are no error', async (count) => {
    const keys = Array.from({ length: count }, (_, i) => key(`file-${i}`));
    for (const k of keys) await store.put(k, Buffer.from('x'), 'text/plain');

    await store.delete([...keys, key('never-written')]);

    for (const k of keys) expect(await store.get(k)).toBeUndefined();
  });

  it('takes an upload of exactly the signed size through a presigned URL', async () => {
    const k = key('payload.json');
    const url = await store.presignPut(k, { contentLength: 9, expiresInSeconds: 60 });

    expect(await harness.upload(url, '{"n":123}')).toBe(200);
    expect((await store.get(k))?.body.toString()).toBe('{"n":123}');
  });

  it.each([
    ['shorter', '{"n":1}'],
    ['longer', '{"n":12345}'],
  ])('refuses a %s upload than signed, and stores nothing', async (_label, body) => {
    const k = key('payload.json');
    const url = await store.presignPut(k, { contentLength: 9, expiresInSeconds: 60 });

    expect(await harness.upload(url, body)).toBe(403);
    expect(await store.get(k)).toBeUndefined();
  });

  it('refuses an upload URL once it has expired', async () => {
    const k = key('payload.json');
    const url = await store.presignPut(k, { contentLength: 2, expiresInSeconds: 60 });

    harness.advance(61_000);
    try {
      expect(await harness.upload(url, '{}')).toBe(403);
    } finally {
      harness.advance(-61_000);
    }
    expect(await store.get(k)).toBeUndefined();
  });

  it('serves an object through a presigned download URL until it expires', async () => {
    const k = key('result.json');
    await store.put(k, Buffer.from('[1,2,3]'), 'application/json');
    const url = await store.presignGet(k, { expiresInSeconds: 60, downloadName: 'result.json' });

    const fresh = await harness.download(url);
    harness.advance(61_000);
    const expired = await harness.download(url);
    harness.advance(-61_000);

    expect(fresh).toEqual({ status: 200, body: '[1,2,3]' });
    expect(expired.status).toBe(403);
  });
});
