import { CreateTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { FAIR_SHARE_TABLE } from '../../shared/fair-share.js';
import { TASK_TABLE } from '../../shared/task-table.js';
import { DAY_SECONDS } from '../../shared/time.js';
import type { Settings } from '../settings.js';

export interface LocalResources {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
  /** Per-owner limits' state; always there locally (it costs nothing), used only when a limit is on. */
  readonly fairShareTableName: string;
}

export const LOCAL_NAMES = {
  table: 'offload-tasks',
  queue: 'offload-tasks',
  deadLetterQueue: 'offload-tasks-dlq',
  fairShareTable: 'offload-fair-share',
};

/** Creates on the emulators what the CDK stack creates in AWS, from the same settings. */
export async function provisionResources(
  clients: { readonly dynamodb: DynamoDBClient; readonly sqs: SQSClient },
  s: Settings,
  visibilityTimeoutSeconds: number,
): Promise<LocalResources> {
  await createTable(clients.dynamodb);
  await createFairShareTable(clients.dynamodb);
  const days = (n: number) => String(n * DAY_SECONDS);
  const deadLetterQueueUrl = await createQueue(clients.sqs, LOCAL_NAMES.deadLetterQueue, {
    MessageRetentionPeriod: days(s.queue.deadLetterRetentionDays),
  });
  const deadLetterQueueArn = await queueArn(clients.sqs, deadLetterQueueUrl);
  const queueUrl = await createQueue(clients.sqs, LOCAL_NAMES.queue, {
    VisibilityTimeout: String(visibilityTimeoutSeconds),
    MessageRetentionPeriod: days(s.queue.retentionDays),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: deadLetterQueueArn,
      maxReceiveCount: s.queue.maxReceiveCount,
    }),
  });
  return {
    tableName: LOCAL_NAMES.table,
    queueUrl,
    queueArn: await queueArn(clients.sqs, queueUrl),
    deadLetterQueueUrl,
    deadLetterQueueArn,
    fairShareTableName: LOCAL_NAMES.fairShareTable,
  };
}

/** The fair-share table (infra/constructs/fair-share-table.ts): its key, nothing else. */
async function createFairShareTable(dynamodb: DynamoDBClient): Promise<void> {
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: LOCAL_NAMES.fairShareTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: FAIR_SHARE_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: FAIR_SHARE_TABLE.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: FAIR_SHARE_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: FAIR_SHARE_TABLE.sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

async function createTable(dynamodb: DynamoDBClient): Promise<void> {
  const { partitionKey, ownerIndex } = TASK_TABLE;
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: LOCAL_NAMES.table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: 'S' },
          { AttributeName: ownerIndex.partitionKey, AttributeType: 'S' },
          { AttributeName: ownerIndex.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: ownerIndex.name,
            KeySchema: [
              { AttributeName: ownerIndex.partitionKey, KeyType: 'HASH' },
              { AttributeName: ownerIndex.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    );
  } catch (error) {
    // A data dir from an earlier run already has the table.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  return QueueUrl;
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`No QueueArn for ${queueUrl}`);
  return arn;
}
