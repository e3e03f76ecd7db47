import { CreateTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketLifecycleConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SCHEDULE_TABLE } from '../../shared/schedule-table.js';
import { TASK_TABLE } from '../../shared/task-table.js';
import { DAY_SECONDS } from '../../shared/time.js';
import { callbackVisibilityTimeoutSeconds, type Settings, taskDataLifecycle } from '../settings.js';

export interface LocalResources {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
  readonly callbackQueueUrl: string;
  readonly callbackQueueArn: string;
  readonly callbackDeadLetterQueueUrl: string;
  readonly scheduleTableName: string;
  readonly taskDataBucket: string;
}

export const LOCAL_NAMES = {
  table: 'offload-tasks',
  queue: 'offload-tasks',
  deadLetterQueue: 'offload-tasks-dlq',
  callbackQueue: 'offload-callbacks',
  callbackDeadLetterQueue: 'offload-callbacks-dlq',
  scheduleTable: 'offload-schedules',
  taskDataBucket: 'offload-task-data',
};

/** Creates on the emulators what the CDK stack creates in AWS, from the same settings. */
export async function provisionResources(
  clients: { readonly dynamodb: DynamoDBClient; readonly sqs: SQSClient; readonly s3: S3Client },
  s: Settings,
  visibilityTimeoutSeconds: number,
): Promise<LocalResources> {
  await createTable(clients.dynamodb);
  await createScheduleTable(clients.dynamodb);
  await createTaskDataBucket(clients.s3, s);
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
  const callbackDeadLetterQueueUrl = await createQueue(clients.sqs, LOCAL_NAMES.callbackDeadLetterQueue, {
    MessageRetentionPeriod: days(s.callbacks.deadLetterRetentionDays),
  });
  const callbackQueueUrl = await createQueue(clients.sqs, LOCAL_NAMES.callbackQueue, {
    VisibilityTimeout: String(callbackVisibilityTimeoutSeconds(s.callbacks)),
    MessageRetentionPeriod: days(s.callbacks.retentionDays),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: await queueArn(clients.sqs, callbackDeadLetterQueueUrl),
      maxReceiveCount: s.callbacks.maxReceiveCount,
    }),
  });
  return {
    tableName: LOCAL_NAMES.table,
    queueUrl,
    queueArn: await queueArn(clients.sqs, queueUrl),
    deadLetterQueueUrl,
    deadLetterQueueArn,
    callbackQueueUrl,
    callbackQueueArn: await queueArn(clients.sqs, callbackQueueUrl),
    callbackDeadLetterQueueUrl,
    scheduleTableName: LOCAL_NAMES.scheduleTable,
    taskDataBucket: LOCAL_NAMES.taskDataBucket,
  };
}

async function createScheduleTable(dynamodb: DynamoDBClient): Promise<void> {
  const { partitionKey, sortKey } = SCHEDULE_TABLE;
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: LOCAL_NAMES.scheduleTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: 'S' },
          { AttributeName: sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: partitionKey, KeyType: 'HASH' },
          { AttributeName: sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
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
