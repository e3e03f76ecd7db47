import type { Config } from '../config.js';
import { lazyBlobStore } from '../lazy-blob-store.js';
import type { TaskData } from '../task-data.js';

/**
 * The task data bucket as a function gets it: its S3 client built by the first call that needs it.
 * The S3 SDK and presigner sit in a chunk of their own (code splitting), so neither the cold start
 * nor a small task ever loads them. Undefined where the deployment has no bucket.
 */
export function taskDataOf(config: Config, instrument: <T extends object>(client: T) => T): TaskData | undefined {
  const { taskData } = config;
  if (!taskData) return undefined;
  const blobs = lazyBlobStore(async () => {
    const { S3BlobStore, createS3Client } = await import('./s3-blob-store.js');
    return new S3BlobStore(instrument(createS3Client(config)), taskData.bucket);
  });
  return { blobs, limits: taskData };
}
