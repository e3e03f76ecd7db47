import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDocumentClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { loadConfig } from '../../shared/config.js';
import { type MarkDeadLetteredDeps, markDeadLettered } from './mark-dead-lettered.js';

const config = loadConfig();
const logger = new Logger({ serviceName: 'offload-dead-letter' });
const deps: MarkDeadLetteredDeps = {
  store: new DynamoTaskStore(createDocumentClient(config), config.tableName),
  clock: () => new Date(),
  log: logger,
  ttlDays: config.ttlDays,
};

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(
    event,
    (record: SQSRecord) => markDeadLettered(record, deps),
    new BatchProcessor(EventType.SQS),
    {
      context,
      throwOnFullBatchFailure: false,
    },
  );
