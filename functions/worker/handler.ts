import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsCallbackQueue } from '../../shared/aws/sqs-callback-queue.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { taskDataOf } from '../../shared/aws/task-data-bucket.js';
import { CallbackOutbox } from '../../shared/callbacks/callback-outbox.js';
import { loadConfig } from '../../shared/config.js';
import { RECOVERY_COUNTS, SERVICE_NAMES } from '../../shared/metric-names.js';
import type { TaskTypes } from '../tasks/define-task.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { type RunTaskDeps, runTask } from './run-task.js';

/** How long a finished task's callback message waits for others of its batch: a few ms of latency, fewer requests. */
const CALLBACK_LINGER_MS = 5;

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * The worker Lambda's handler: runs the task types of `taskTypes` (a task module's export). Call it
 * once, at module scope: what it builds lives as long as the container.
 */
export function createWorkerHandler(taskTypes: TaskTypes = {}): SqsBatchHandler {
  const config = loadConfig();
  const registry = createTaskRegistry({ tasks: taskTypes, diagnostic: config.diagnosticTasks });
  const { logger, tracer, metrics } = createObservability(SERVICE_NAMES.worker, (type) => registry.has(type));
  const sqs = tracer.captureAWSv3Client(createSqsClient(config));
  const deps: Omit<RunTaskDeps, 'remainingTimeMs'> = {
    store: new DynamoTaskStore(tracer.captureAWSv3Client(createDocumentClient(config)), config.tableName, () =>
      metrics.record(RECOVERY_COUNTS.writeRecovered, ''),
    ),
    queue: new SqsTaskQueue(sqs, config.queueUrl),
    // The records of a batch finish together: their deliveries share SendMessageBatch requests.
    ...(config.callbacks.queueUrl && {
      callbackQueue: new CallbackOutbox(new SqsCallbackQueue(sqs, config.callbacks.queueUrl), CALLBACK_LINGER_MS),
    }),
    registry,
    clock: () => new Date(),
    log: logger,
    metrics,
    retryBaseDelaySeconds: config.retryBaseDelaySeconds,
    retryMaxDelaySeconds: config.retryMaxDelaySeconds,
    ttlDays: config.ttlDays,
    maxResultBytes: config.maxResultBytes,
    cancelCheckIntervalMs: config.cancelCheckSeconds * 1000,
    leaseGraceMs: config.leaseGraceSeconds * 1000,
    taskData: taskDataOf(config, (client) => tracer.captureAWSv3Client(client)),
  };

  // A declaration, so stack traces name it `handler` (an arrow function would be anonymous).
  async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    await tracer.loadIfSampled();
    logger.addContext(context);
    const remainingTimeMs = () => context.getRemainingTimeInMillis();
    // A processor per invocation: it holds per-batch state, and the local stack may run invocations concurrently in one process.
    try {
      return await processPartialResponse(
        event,
        (record: SQSRecord) => runTask(record, { ...deps, remainingTimeMs }),
        new BatchProcessor(EventType.SQS),
        { context, throwOnFullBatchFailure: false },
      );
    } finally {
      metrics.flush();
    }
  }
  return handler;
}
