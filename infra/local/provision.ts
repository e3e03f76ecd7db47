import { CreateTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketLifecycleConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { TASK_TABLE } from '../../shared/task-table.js';
import { type Settings, taskDataLifecycle } from '../settings.js';

export interface LocalResources {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
  readonly taskDataBucket: string;
}

export const LOCAL_NAMES = {
  table: 'offload-tasks',
  queue: 'offload-tasks',
  deadLetterQueue: 'offload-tasks-dlq',
  taskDataBucket: 'offload-task-data',
};

/** Creates on the emulators what the CDK stack creates in AWS, from the same settings. */
export async function provisionResources(
  clients: { readonly dynamodb: DynamoDBClient; readonly sqs: SQSClient; readonly s3: S3Client },
  s: Settings,
  visibilityTimeoutSeconds: number,
): Promise<LocalResources> {
  await createTable(clients.dynamodb);
  await createTaskDataBucket(clients.s3, s);
  const days = (n: number) => String(n * 86_400);
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
    taskDataBucket: LOCAL_NAMES.taskDataBucket,
  };
}

/** The bucket with the stack's lifecycle rules (fauxqs keeps them without enforcing them: nothing expires locally). */
async function createTaskDataBucket(s3: S3Client, s: Settings): Promise<void> {
  // CreateBucket is idempotent on fauxqs, as for the owner of an existing bucket in us-east-1.
  await s3.send(new CreateBucketCommand({ Bucket: LOCAL_NAMES.taskDataBucket }));
  const lifecycle = taskDataLifecycle(s);
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: LOCAL_NAMES.taskDataBucket,
      LifecycleConfiguration: {
        Rules: [
          {
            ID: 'expire-with-the-tasks',
            Status: 'Enabled',
            Filter: { Prefix: '' },
            Expiration: { Days: lifecycle.expirationDays },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: lifecycle.abortIncompleteUploadDays },
          },
        ],
      },
    }),
  );
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
