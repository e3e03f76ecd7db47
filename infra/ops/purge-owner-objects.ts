import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

export interface PurgeObjectsOptions {
  /** List what would be deleted, delete nothing. */
  readonly dryRun?: boolean;
  /** Keys listed per page (DeleteObjects takes at most 1,000). @default 1000 */
  readonly pageSize?: number;
  /** Called with each page's keys once they are deleted (or, in a dry run, found). */
  readonly onPage?: (keys: readonly string[]) => void;
}

/**
 * Deletes every object of an owner from the task data bucket (an erasure request): each object key
 * starts with the owner's keyed hash (shared/task-data.ts), so one prefix lists them all, payloads,
 * uploads, results and artifacts. Returns the keys.
 */
export async function purgeOwnerObjects(
  s3: S3Client,
  bucket: string,
  ownerHash: string,
  options: PurgeObjectsOptions = {},
): Promise<string[]> {
  const purged: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: `${ownerHash}/`,
        MaxKeys: options.pageSize ?? 1_000,
        ContinuationToken: token,
      }),
    );
    const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [object.Key] : []));
    if (keys.length > 0 && !options.dryRun) {
      const { Errors = [] } = await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
      );
      if (Errors.length > 0)
        throw new Error(`S3 refused to delete ${Errors.length} objects (${Errors[0]?.Code}); run again.`);
    }
    purged.push(...keys);
    if (keys.length > 0) options.onPage?.(keys);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return purged;
}
