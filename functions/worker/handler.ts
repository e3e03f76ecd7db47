import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoFairShare } from '../../shared/aws/dynamo-fair-share.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { type SqsBatchHandler, sqsBatchHandler } from '../../shared/aws/sqs-batch-handler.js';
import { SqsCallbackQueue } from '../../shared/aws/sqs-callback-queue.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { taskDataOf } from '../../shared/aws/task-data-bucket.js';
import { CallbackOutbox } from '../../shared/callbacks/callback-outbox.js';
import { loadConfig } from '../../shared/config.js';
import { routeOfQueueArn } from '../../shared/lanes.js';
import { RECOVERY_COUNTS, SERVICE_NAMES } from '../../shared/metric-names.js';
import type { TaskTypes } from '../tasks/define-task.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { type RunTaskDeps, runTask } from './run-task.js';

/** How long a finished task's callback message waits for others of its batch: a few ms of latency, fewer requests. */
const CALLBACK_LINGER_MS = 5;

/**
 * The worker Lambda's handler: runs the task types of `taskTypes` (a task module's export). Call it
 * once, at module scope: what it builds lives as long as the container.
 */
export function createWorkerHandler(taskTypes: TaskTypes = {}): SqsBatchHandler {
  const config = loadConfig();
  const registry = createTaskRegistry({ tasks: taskTypes, diagnostic: config.diagnosticTasks });
  const observability = createObservability(SERVICE_NAMES.worker, (type) => registry.has(type));
  const { logger, tracer, metrics } = observability;
  const sqs = tracer.captureAWSv3Client(createSqsClient(config));
  const documents = tracer.captureAWSv3Client(createDocumentClient(config));
  const { fairness } = config;
  const typeLimits = [...registry.values()].some((definition) => definition.maxRunningPerOwner !== undefined);
  const deps: Omit<RunTaskDeps, 'remainingTimeMs'> = {
    store: new DynamoTaskStore(documents, config.tableName, () => metrics.record(RECOVERY_COUNTS.writeRecovered, '')),
    queue: new SqsTaskQueue(sqs, config.queueUrl, { lanes: config.lanes, fairQueues: fairness.fairQueues }),
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
    // Per-owner limits only where one is on; their table is there only then (settings.fairness).
    ...(fairness.tableName &&
      (fairness.ownerMaxRunning !== undefined || typeLimits) && {
        ownerConcurrency: {
          slots: new DynamoFairShare(documents, fairness.tableName, () =>
            metrics.record(RECOVERY_COUNTS.writeRecovered, ''),
          ),
          maxRunning: fairness.ownerMaxRunning,
          waitMaxSeconds: fairness.ownerWaitMaxSeconds,
        },
      }),
  };

  // A lane's worker reads its normal and its high-priority queue: a delayed retry stays on the queue it came from.
  return sqsBatchHandler(observability, (record, context) =>
    runTask(
      { ...record, from: routeOfQueueArn(config.lanes, record.eventSourceARN) },
      { ...deps, remainingTimeMs: () => context.getRemainingTimeInMillis() },
    ),
  );
}
