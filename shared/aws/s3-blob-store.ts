import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Config } from '../config.js';
import type { BlobObject, BlobStore } from '../ports.js';
import { BlobChangedError, BlobTooLargeError } from '../task-data.js';
import { announceSdkClient } from './clients.js';
import { toDependencyError } from './dependency-error.js';

const DEPENDENCY = 'task data bucket';
/** DeleteObjects takes at most 1,000 keys a request. */
const DELETE_BATCH = 1_000;

/**
 * The S3 client of the task data bucket, built on first use (this module is imported lazily). Locally
 * (an endpoint is set) fauxqs serves S3 on its own host and port, so addressing is path-style.
 */
export function createS3Client(config: Pick<Config, 'endpoints'>): S3Client {
  const endpoint = config.endpoints.s3;
  return announceSdkClient(
    new S3Client({
      ...(endpoint && { endpoint, forcePathStyle: true }),
      // A presigned PUT is signed before its body exists: with the default (WHEN_SUPPORTED) the SDK signs the
      // CRC32 of an empty body into the URL, and S3 refuses every real upload through it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
    }),
    'function',
  );
}

/** {@link BlobStore} on an S3 bucket. */
export class S3BlobStore implements BlobStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array, contentType: string): Promise<{ readonly etag?: string }> {
    try {
      const { ETag } = await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
      );
      return { etag: ETag };
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  async get(
    key: string,
    options: { readonly maxBytes?: number; readonly ifMatch?: string } = {},
  ): Promise<BlobObject | undefined> {
    let response: GetObjectCommandOutput;
    try {
      response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: options.ifMatch }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((error as Error).name === 'NoSuchKey' || status === 404) return undefined;
      if ((error as Error).name === 'PreconditionFailed' || status === 412) throw new BlobChangedError();
      throw toDependencyError(DEPENDENCY, error);
    }
    const size = response.ContentLength ?? 0;
    if (options.maxBytes !== undefined && size > options.maxBytes) {
      // The headers are enough to refuse it: leave the body unread.
      (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw new BlobTooLargeError(size, options.maxBytes);
    }
    try {
      const body = Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
      return { body, size: body.length, etag: response.ETag };
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    try {
      if (keys.length === 1) {
        await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: keys[0] }));
        return;
      }
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        const batch = keys.slice(i, i + DELETE_BATCH);
        const { Errors = [] } = await this.s3.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        if (Errors.length > 0) throw new Error(`DeleteObjects failed for ${Errors.length} keys: ${Errors[0]?.Code}`);
      }
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  presignPut(key: string, options: { readonly contentLength: number; readonly expiresInSeconds: number }) {
    // ContentLength is signed (X-Amz-SignedHeaders content-length;host): S3 refuses a body of any other size.
    return getSignedUrl(
      this.s3,
      new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentLength: options.contentLength }),
      {
        expiresIn: options.expiresInSeconds,
      },
    );
  }

  presignGet(key: string, options: { readonly expiresInSeconds: number; readonly downloadName?: string }) {
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(options.downloadName && { ResponseContentDisposition: `attachment; filename="${options.downloadName}"` }),
      }),
      { expiresIn: options.expiresInSeconds },
    );
  }
}
