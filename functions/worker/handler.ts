import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../../shared/config.js';
import { lazyBlobStore } from '../../shared/lazy-blob-store.js';
import { RECOVERY_COUNTS, SERVICE_NAMES } from '../../shared/metric-names.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { type RunTaskDeps, runTask } from './run-task.js';

const config = loadConfig();
const registry = createTaskRegistry({ demo: config.demoTasks, diagnostic: config.diagnosticTasks });
const { logger, tracer, metrics } = createObservability(SERVICE_NAMES.worker, (type) => registry.has(type));
const deps: Omit<RunTaskDeps, 'remainingTimeMs'> = {
  store: new DynamoTaskStore(tracer.captureAWSv3Client(createDocumentClient(config)), config.tableName, () =>
    metrics.record(RECOVERY_COUNTS.writeRecovered, ''),
  ),
  queue: new SqsTaskQueue(tracer.captureAWSv3Client(createSqsClient(config)), config.queueUrl),
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
  taskData: taskDataOf(config),
};

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  await tracer.loadIfSampled();
  logger.addContext(context);
  const remainingTimeMs = () => context.getRemainingTimeInMillis();
  // A processor per invocation: it holds per-batch state, and the local stack runs invocations concurrently in one process.
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
};

/** The task data bucket, its S3 client built by the first task that has data there (the S3 SDK is a lazy chunk). */
function taskDataOf(c: typeof config): RunTaskDeps['taskData'] {
  const { taskData } = c;
  if (!taskData) return undefined;
  const blobs = lazyBlobStore(async () => {
    const { S3BlobStore, createS3Client } = await import('../../shared/aws/s3-blob-store.js');
    return new S3BlobStore(tracer.captureAWSv3Client(createS3Client(c)), taskData.bucket);
  });
  return { blobs, limits: taskData };
}
