import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoFairShare } from '../../shared/aws/dynamo-fair-share.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../../shared/config.js';
import { RECOVERY_COUNTS, SERVICE_NAMES } from '../../shared/metric-names.js';
import type { TaskTypes } from '../tasks/define-task.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { type RunTaskDeps, runTask } from './run-task.js';

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * The worker Lambda's handler: runs the task types of `taskTypes` (a task module's export). Call it
 * once, at module scope: what it builds lives as long as the container.
 */
export function createWorkerHandler(taskTypes: TaskTypes = {}): SqsBatchHandler {
  const config = loadConfig();
  const registry = createTaskRegistry({ tasks: taskTypes, diagnostic: config.diagnosticTasks });
  const { logger, tracer, metrics } = createObservability(SERVICE_NAMES.worker, (type) => registry.has(type));
  const documents = tracer.captureAWSv3Client(createDocumentClient(config));
  const { fairness } = config;
  const typeLimits = [...registry.values()].some((definition) => definition.maxRunningPerOwner !== undefined);
  const deps: Omit<RunTaskDeps, 'remainingTimeMs'> = {
    store: new DynamoTaskStore(documents, config.tableName, () => metrics.record(RECOVERY_COUNTS.writeRecovered, '')),
    queue: new SqsTaskQueue(tracer.captureAWSv3Client(createSqsClient(config)), config.queueUrl, {
      fairQueues: config.fairness.fairQueues,
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
