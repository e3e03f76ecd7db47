import { createHash } from 'node:crypto';
import type { BlobObject, BlobStore } from '../../shared/ports.js';
import { BlobChangedError, BlobTooLargeError } from '../../shared/task-data.js';

interface StoredObject {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

export type BlobStoreMethod = keyof BlobStore;

/**
 * BlobStore held in a Map, with S3's answers (test/adapters/blob-store-contract.test.ts holds it and
 * S3BlobStore on fauxqs to one contract). Presigned URLs are `https://blobs.test/…` URLs that
 * {@link InMemoryBlobStore.upload} and {@link InMemoryBlobStore.download} honour as S3 would: the
 * signed size, the expiry by `now`.
 */
export class InMemoryBlobStore implements BlobStore {
  private readonly objects = new Map<string, StoredObject>();
  private readonly failures = new Map<BlobStoreMethod, unknown[]>();
  /** Every call in order, failed ones included. */
  readonly calls: { readonly method: BlobStoreMethod; readonly keys: readonly string[] }[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** The next call of `method` throws `error` (queued). */
  failNext(method: BlobStoreMethod, error: unknown): this {
    this.failures.set(method, [...(this.failures.get(method) ?? []), error]);
    return this;
  }

  /** The stored keys, sorted: the "then" of a test. */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  /** An object's body as text, without a call record. */
  text(key: string): string | undefined {
    return this.objects.get(key)?.body.toString('utf8');
  }

  contentType(key: string): string | undefined {
    return this.objects.get(key)?.contentType;
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<{ readonly etag?: string }> {
    this.enter('put', [key]);
    return { etag: this.store(key, Buffer.from(body), contentType) };
  }

  async get(
    key: string,
    options: { readonly maxBytes?: number; readonly ifMatch?: string } = {},
  ): Promise<BlobObject | undefined> {
    this.enter('get', [key]);
    const object = this.objects.get(key);
    if (!object) return undefined;
    if (options.ifMatch !== undefined && options.ifMatch !== object.etag) throw new BlobChangedError();
    if (options.maxBytes !== undefined && object.body.length > options.maxBytes) {
      throw new BlobTooLargeError(object.body.length, options.maxBytes);
    }
    return { body: Buffer.from(object.body), size: object.body.length, etag: object.etag };
  }

  async delete(keys: readonly string[]): Promise<void> {
    this.enter('delete', keys);
    for (const key of keys) this.objects.delete(key);
  }

  async presignPut(key: string, options: { readonly contentLength: number; readonly expiresInSeconds: number }) {
    this.enter('presignPut', [key]);
    const expires = this.now() + options.expiresInSeconds * 1000;
    return `https://blobs.test/${key}?op=put&length=${options.contentLength}&expires=${expires}`;
  }

  async presignGet(key: string, options: { readonly expiresInSeconds: number; readonly downloadName?: string }) {
    this.enter('presignGet', [key]);
    const expires = this.now() + options.expiresInSeconds * 1000;
    const name = options.downloadName ? `&name=${encodeURIComponent(options.downloadName)}` : '';
    return `https://blobs.test/${key}?op=get&expires=${expires}${name}`;
  }

  /** The caller's PUT to a presigned URL: S3's 403 for another size than signed or an expired URL. */
  upload(url: string, body: string | Buffer): { readonly status: 200 | 403 } {
    const { key, params } = parse(url);
    const bytes = Buffer.from(body);
    if (params.get('op') !== 'put' || Number(params.get('expires')) < this.now()) return { status: 403 };
    if (Number(params.get('length')) !== bytes.length) return { status: 403 };
    this.store(key, bytes, 'application/octet-stream');
    return { status: 200 };
  }

  /** The caller's GET of a presigned URL. */
  download(url: string): { readonly status: 200 | 403 | 404; readonly body?: Buffer } {
    const { key, params } = parse(url);
    if (params.get('op') !== 'get' || Number(params.get('expires')) < this.now()) return { status: 403 };
    const object = this.objects.get(key);
    return object ? { status: 200, body: Buffer.from(object.body) } : { status: 404 };
  }

  private store(key: string, body: Buffer, contentType: string): string {
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    this.objects.set(key, { body, contentType, etag });
    return etag;
  }

  private enter(method: BlobStoreMethod, keys: readonly string[]): void {
    this.calls.push({ method, keys });
    const queued = this.failures.get(method);
    if (queued?.length) throw queued.shift();
  }
}

function parse(url: string): { key: string; params: URLSearchParams } {
  const parsed = new URL(url);
  return { key: decodeURIComponent(parsed.pathname.slice(1)), params: parsed.searchParams };
}
