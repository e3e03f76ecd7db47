import { CreateTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketLifecycleConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { FAIR_SHARE_TABLE } from '../../shared/fair-share.js';
import { DEFAULT_LANE, type LaneTable } from '../../shared/lanes.js';
import { SCHEDULE_TABLE } from '../../shared/schedule-table.js';
import { TASK_TABLE } from '../../shared/task-table.js';
import { DAY_SECONDS } from '../../shared/time.js';
import { type Lane, laneTable } from '../lanes.js';
import { callbackVisibilityTimeoutSeconds, type Settings, taskDataLifecycle } from '../settings.js';

/** One lane's queues on the emulator. */
export interface LocalLaneQueues {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly highPriorityQueueUrl: string;
  readonly highPriorityQueueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
}

/** The default lane's queues at the top, as before lanes; every lane's (the default one included) in `lanes`. */
export interface LocalResources extends LocalLaneQueues {
  readonly tableName: string;
  readonly lanes: Readonly<Record<string, LocalLaneQueues>>;
  /** What the functions get as OFFLOAD_LANES. */
  readonly laneTable: LaneTable;
  readonly callbackQueueUrl: string;
  readonly callbackQueueArn: string;
  readonly callbackDeadLetterQueueUrl: string;
  readonly scheduleTableName: string;
  readonly taskDataBucket: string;
  /** Per-owner limits' state; always there locally (it costs nothing), used only when a limit is on. */
  readonly fairShareTableName: string;
}

export const LOCAL_NAMES = {
  table: 'offload-tasks',
  queue: 'offload-tasks',
  deadLetterQueue: 'offload-tasks-dlq',
  callbackQueue: 'offload-callbacks',
  callbackDeadLetterQueue: 'offload-callbacks-dlq',
  scheduleTable: 'offload-schedules',
  taskDataBucket: 'offload-task-data',
  fairShareTable: 'offload-fair-share',
};

/**
 * Queue names of a lane. `_` cannot be part of a lane name, so no lane's names can be another's (a lane
 * called `high` or `x-high` included); the default lane keeps the names it had before lanes.
 */
export function localQueueNames(lane: string): { queue: string; highPriorityQueue: string; deadLetterQueue: string } {
  const base = lane === DEFAULT_LANE ? LOCAL_NAMES.queue : `offload-lane_${lane}`;
  return {
    queue: base,
    highPriorityQueue: `${base}_high`,
    deadLetterQueue: lane === DEFAULT_LANE ? LOCAL_NAMES.deadLetterQueue : `${base}_dlq`,
  };
}

const days = (n: number) => String(n * DAY_SECONDS);

/**
 * Creates on the emulators what the CDK stack creates in AWS, from the same settings: the tables, the
 * task data bucket, every lane's queues and the callback delivery queues.
 */
export async function provisionResources(
  clients: { readonly dynamodb: DynamoDBClient; readonly sqs: SQSClient; readonly s3: S3Client },
  s: Settings,
  lanes: readonly Lane[],
): Promise<LocalResources> {
  await createTable(clients.dynamodb);
  await createKeyedTable(clients.dynamodb, LOCAL_NAMES.scheduleTable, SCHEDULE_TABLE);
  // The fair-share table (infra/constructs/fair-share-table.ts): its key, nothing else.
  await createKeyedTable(clients.dynamodb, LOCAL_NAMES.fairShareTable, FAIR_SHARE_TABLE);
  await createTaskDataBucket(clients.s3, s);
  const byLane: Record<string, LocalLaneQueues> = {};
  for (const lane of lanes) byLane[lane.name] = await provisionLane(clients.sqs, s, lane);
  const defaultLane = byLane[DEFAULT_LANE];
  if (!defaultLane) throw new Error('The lanes have no default lane.');
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
    ...defaultLane,
    lanes: byLane,
    laneTable: laneTable(lanes, (lane) => ({
      normal: byLane[lane.name]?.queueUrl ?? '',
      high: byLane[lane.name]?.highPriorityQueueUrl ?? '',
    })),
    callbackQueueUrl,
    callbackQueueArn: await queueArn(clients.sqs, callbackQueueUrl),
    callbackDeadLetterQueueUrl,
    scheduleTableName: LOCAL_NAMES.scheduleTable,
    taskDataBucket: LOCAL_NAMES.taskDataBucket,
    fairShareTableName: LOCAL_NAMES.fairShareTable,
  };
}

async function provisionLane(sqs: SQSClient, s: Settings, lane: Lane): Promise<LocalLaneQueues> {
  const names = localQueueNames(lane.name);
  const deadLetterQueueUrl = await createQueue(sqs, names.deadLetterQueue, {
    MessageRetentionPeriod: days(s.queue.deadLetterRetentionDays),
  });
  const deadLetterQueueArn = await queueArn(sqs, deadLetterQueueUrl);
  const attributes = {
    VisibilityTimeout: String(lane.visibilityTimeoutSeconds),
    MessageRetentionPeriod: days(s.queue.retentionDays),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: deadLetterQueueArn,
      maxReceiveCount: s.queue.maxReceiveCount,
    }),
  };
  const queueUrl = await createQueue(sqs, names.queue, attributes);
  const highPriorityQueueUrl = await createQueue(sqs, names.highPriorityQueue, attributes);
  return {
    queueUrl,
    queueArn: await queueArn(sqs, queueUrl),
    highPriorityQueueUrl,
    highPriorityQueueArn: await queueArn(sqs, highPriorityQueueUrl),
    deadLetterQueueUrl,
    deadLetterQueueArn,
  };
}

/** A table keyed by `partitionKey` and `sortKey` (strings), as the schedule and fair-share tables are; nothing else. */
async function createKeyedTable(
  dynamodb: DynamoDBClient,
  tableName: string,
  { partitionKey, sortKey }: { readonly partitionKey: string; readonly sortKey: string },
): Promise<void> {
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
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
