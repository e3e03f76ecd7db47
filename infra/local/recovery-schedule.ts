import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { type SweepReport, sweepStuckTasks } from '../../functions/recovery/sweep-stuck-tasks.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { SqsCallbackQueue } from '../../shared/aws/sqs-callback-queue.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import type { Log } from '../../shared/ports.js';
import type { LocalResources } from './provision.js';

export interface RecoveryScheduleOptions {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly resources: LocalResources;
  /** The recovery Lambda's handler, invoked on the interval as EventBridge invokes it in AWS. */
  readonly handler: (event: ScheduledEvent, context: Context) => Promise<SweepReport>;
  readonly context: () => Context;
  readonly intervalMs: number;
  /** Days a task is kept (settings.tasks.ttlDays): the sweep at start ends unfinished tasks past them. */
  readonly ttlDays: number;
  /** Send each message's group as its MessageGroupId (settings.fairness.fairQueues). @default true */
  readonly fairQueues?: boolean;
  /** Called with each scheduled sweep's report. */
  readonly onReport?: (report: SweepReport) => void;
  readonly log: Log;
  readonly onError: (error: unknown) => void;
}

/**
 * fauxqs keeps messages in memory only, so after a restart on a kept table (--data-dir) every
 * unfinished task has lost its message: one sweep at start re-enqueues them all. After that the
 * scheduled sweep runs as it does in AWS.
 */
export async function startRecoverySchedule(options: RecoveryScheduleOptions): Promise<{ stop(): void }> {
  const store = new DynamoTaskStore(DynamoDBDocumentClient.from(options.dynamodb), options.resources.tableName);
  // Each task back to its own lane's queue, at its own priority, in its owner's group.
  const queue = new SqsTaskQueue(options.sqs, options.resources.queueUrl, {
    lanes: options.resources.laneTable,
    fairQueues: options.fairQueues,
  });
  // Pending callbacks lost their delivery messages with the in-memory queue too.
  const callbackQueue = new SqsCallbackQueue(options.sqs, options.resources.callbackQueueUrl);
  const report = await sweepStuckTasks(
    {
      store,
      queue,
      callbackQueue,
      clock: () => new Date(),
      log: options.log,
      staleAfterSeconds: 0,
      ttlDays: options.ttlDays,
    },
    { all: true },
  );
  if (report.requeued > 0) options.log.info(`re-enqueued ${report.requeued} unfinished task(s) from the data dir`);
  if (report.callbacksResent) options.log.info(`sent ${report.callbacksResent} pending callback(s) again`);
  const event: ScheduledEvent = {
    version: '0',
    id: 'local',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: '',
    region: 'us-east-1',
    resources: [],
    detail: {},
  };
  const timer = setInterval(() => {
    options
      .handler({ ...event, time: new Date().toISOString() }, options.context())
      .then((sweep) => options.onReport?.(sweep), options.onError);
  }, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
