import type { Context, ScheduledEvent } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsCallbackQueue } from '../../shared/aws/sqs-callback-queue.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../../shared/config.js';
import { SERVICE_NAMES } from '../../shared/metric-names.js';
import { type SweepDeps, type SweepReport, sweepStuckTasks } from './sweep-stuck-tasks.js';

export type RecoveryHandler = (event: ScheduledEvent, context: Context) => Promise<SweepReport>;

/**
 * The recovery sweep's handler, run on a schedule (EventBridge): re-enqueues tasks whose message was
 * lost. It needs no task types: a task's message names its type, and the worker checks it.
 */
export function createRecoveryHandler(): RecoveryHandler {
  const config = loadConfig();
  // The sweep emits no task metrics; its log lines say what it re-enqueued.
  const { logger, tracer } = createObservability(SERVICE_NAMES.recovery, () => false);
  const sqs = tracer.captureAWSv3Client(createSqsClient(config));
  const deps: SweepDeps = {
    store: new DynamoTaskStore(tracer.captureAWSv3Client(createDocumentClient(config)), config.tableName),
    queue: new SqsTaskQueue(sqs, config.queueUrl, { lanes: config.lanes, fairQueues: config.fairness.fairQueues }),
    ...(config.callbacks.queueUrl && { callbackQueue: new SqsCallbackQueue(sqs, config.callbacks.queueUrl) }),
    clock: () => new Date(),
    log: logger,
    staleAfterSeconds: config.staleAfterSeconds,
    ttlDays: config.ttlDays,
    staleAfterSecondsByLane: Object.fromEntries(
      Object.entries(config.lanes).map(([lane, { staleAfterSeconds }]) => [lane, staleAfterSeconds]),
    ),
  };

  // A declaration, so stack traces name it `handler` (an arrow function would be anonymous).
  async function handler(_event: ScheduledEvent, context: Context): Promise<SweepReport> {
    await tracer.loadIfSampled();
    logger.addContext(context);
    return sweepStuckTasks(deps);
  }
  return handler;
}
