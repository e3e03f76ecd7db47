import type { Context, ScheduledEvent } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsCallbackQueue } from '../../shared/aws/sqs-callback-queue.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../../shared/config.js';
import { SERVICE_NAMES } from '../../shared/metric-names.js';
import { type SweepDeps, type SweepReport, sweepStuckTasks } from './sweep-stuck-tasks.js';

const config = loadConfig();
// The sweep emits no task metrics; its log lines say what it re-enqueued.
const { logger, tracer } = createObservability(SERVICE_NAMES.recovery, () => false);
const sqs = tracer.captureAWSv3Client(createSqsClient(config));
const deps: SweepDeps = {
  store: new DynamoTaskStore(tracer.captureAWSv3Client(createDocumentClient(config)), config.tableName),
  queue: new SqsTaskQueue(sqs, config.queueUrl),
  ...(config.callbacks.queueUrl && { callbackQueue: new SqsCallbackQueue(sqs, config.callbacks.queueUrl) }),
  clock: () => new Date(),
  log: logger,
  staleAfterSeconds: config.staleAfterSeconds,
};

/** Runs on a schedule (EventBridge): re-enqueues tasks whose message was lost. */
export const handler = async (_event: ScheduledEvent, context: Context): Promise<SweepReport> => {
  await tracer.loadIfSampled();
  logger.addContext(context);
  return sweepStuckTasks(deps);
};
