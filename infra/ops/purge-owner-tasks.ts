import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type DynamoDBDocumentClient,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { TASK_TABLE } from '../../shared/task-table.js';

export interface PurgeOptions {
  /** List what would be deleted, delete nothing. */
  readonly dryRun?: boolean;
  /** Keys read per owner index page. @default 500 */
  readonly pageSize?: number;
  /** Called with each page's task ids once they are deleted (or, in a dry run, found). */
  readonly onPage?: (taskIds: readonly string[]) => void;
}

type WriteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

/** DynamoDB takes at most 25 requests per BatchWriteItem. */
const BATCH_WRITE_LIMIT = 25;
const MAX_ROUNDS = 8;

/**
 * Deletes every task of `ownerId` (an erasure request): the owner index names them, BatchWriteItem removes
 * them. Unconditional on purpose: a running task's worker finds its item gone, its fenced writes fail and it
 * stops there. Returns the ids. Tasks the owner submits meanwhile are not covered: revoke access first.
 */
export async function purgeOwnerTasks(
  documents: DynamoDBDocumentClient,
  tableName: string,
  ownerId: string,
  options: PurgeOptions = {},
): Promise<string[]> {
  const { ownerIndex, partitionKey } = TASK_TABLE;
  const purged: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: ownerIndex.name,
        KeyConditionExpression: `${ownerIndex.partitionKey} = :owner`,
        ExpressionAttributeValues: { ':owner': ownerId },
        ProjectionExpression: partitionKey,
        Limit: options.pageSize ?? 500,
        ExclusiveStartKey: startKey,
      }),
    );
    const taskIds = (page.Items ?? []).map((item) => String(item[partitionKey]));
    if (!options.dryRun) await deleteAll(documents, tableName, taskIds);
    purged.push(...taskIds);
    if (taskIds.length > 0) options.onPage?.(taskIds);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return purged;
}

/** BatchWriteItem in chunks, with backoff on the unprocessed items throttling hands back. */
async function deleteAll(documents: DynamoDBDocumentClient, tableName: string, taskIds: readonly string[]) {
  for (let start = 0; start < taskIds.length; start += BATCH_WRITE_LIMIT) {
    let requests: WriteRequests = taskIds
      .slice(start, start + BATCH_WRITE_LIMIT)
      .map((taskId) => ({ DeleteRequest: { Key: { [TASK_TABLE.partitionKey]: taskId } } }));
    for (let round = 0; requests.length > 0; round++) {
      if (round === MAX_ROUNDS) throw new Error(`DynamoDB kept ${requests.length} deletes unprocessed; run again.`);
      if (round > 0) await sleep(100 * 2 ** round);
      const { UnprocessedItems } = await documents.send(
        new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
      );
      requests = UnprocessedItems?.[tableName] ?? [];
    }
  }
}
