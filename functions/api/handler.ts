import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../../shared/config.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { toHttpRequest, toLambdaResult } from './api-gateway-event.js';
import { type ApiDeps, handleApiRequest } from './routes.js';

const config = loadConfig();
const logger = new Logger({ serviceName: 'offload-api' });
const deps: ApiDeps = {
  store: new DynamoTaskStore(createDocumentClient(config), config.tableName),
  queue: new SqsTaskQueue(createSqsClient(config), config.queueUrl),
  registry: createTaskRegistry({ diagnostic: config.diagnosticTasks }),
  clock: () => new Date(),
  log: logger,
  maxBodyBytes: config.maxBodyBytes,
  retryAfterSeconds: config.retryAfterSeconds,
  defaultMaxAttempts: config.defaultMaxAttempts,
  ttlDays: config.ttlDays,
};

export const handler = async (
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  logger.addContext(context);
  return toLambdaResult(await handleApiRequest(toHttpRequest(event), deps));
};
