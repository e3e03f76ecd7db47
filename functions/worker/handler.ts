import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../../shared/config.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { type RunTaskDeps, runTask } from './run-task.js';

const config = loadConfig();
const logger = new Logger({ serviceName: 'offload-worker' });
const deps: Omit<RunTaskDeps, 'remainingTimeMs'> = {
  store: new DynamoTaskStore(createDocumentClient(config), config.tableName),
  queue: new SqsTaskQueue(createSqsClient(config), config.queueUrl),
  registry: createTaskRegistry({ diagnostic: config.diagnosticTasks }),
  clock: () => new Date(),
  log: logger,
  retryBaseDelaySeconds: config.retryBaseDelaySeconds,
  retryMaxDelaySeconds: config.retryMaxDelaySeconds,
  ttlDays: config.ttlDays,
  maxResultBytes: config.maxResultBytes,
  cancelCheckIntervalMs: config.cancelCheckSeconds * 1000,
};

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const remainingTimeMs = () => context.getRemainingTimeInMillis();
  // A processor per invocation: it holds per-batch state, and the local stack runs invocations concurrently in one process.
  return processPartialResponse(
    event,
    (record: SQSRecord) => runTask(record, { ...deps, remainingTimeMs }),
    new BatchProcessor(EventType.SQS),
    { context, throwOnFullBatchFailure: false },
  );
};
