import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsCallbackQueue } from '../../shared/aws/sqs-callback-queue.js';
import { loadConfig } from '../../shared/config.js';
import { RECOVERY_COUNTS, SERVICE_NAMES } from '../../shared/metric-names.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { type MarkDeadLetteredDeps, markDeadLettered } from './mark-dead-lettered.js';

const config = loadConfig();
// The registry only decides which task types get their own metric dimension.
const registry = createTaskRegistry({ demo: config.demoTasks, diagnostic: config.diagnosticTasks });
const { logger, tracer, metrics } = createObservability(SERVICE_NAMES.deadLetter, (type) => registry.has(type));
const deps: MarkDeadLetteredDeps = {
  store: new DynamoTaskStore(tracer.captureAWSv3Client(createDocumentClient(config)), config.tableName, () =>
    metrics.record(RECOVERY_COUNTS.writeRecovered, ''),
  ),
  clock: () => new Date(),
  log: logger,
  metrics,
  ttlDays: config.ttlDays,
  clockToleranceMs: config.leaseGraceSeconds * 1000,
  ...(config.callbacks.queueUrl && {
    callbackQueue: new SqsCallbackQueue(tracer.captureAWSv3Client(createSqsClient(config)), config.callbacks.queueUrl),
  }),
};

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  await tracer.loadIfSampled();
  logger.addContext(context);
  try {
    return await processPartialResponse(
      event,
      (record: SQSRecord) => markDeadLettered(record, deps),
      new BatchProcessor(EventType.SQS),
      { context, throwOnFullBatchFailure: false },
    );
  } finally {
    metrics.flush();
  }
};
