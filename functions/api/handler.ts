import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../../shared/config.js';
import { LOG_KEYS, SERVICE_NAMES } from '../../shared/metric-names.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { toHttpRequest, toLambdaResult } from './api-gateway-event.js';
import { type ApiDeps, handleApiRequest } from './routes.js';

const config = loadConfig();
const registry = createTaskRegistry({ diagnostic: config.diagnosticTasks });
const { logger, tracer, metrics } = createObservability(SERVICE_NAMES.api, (type) => registry.has(type));
const deps: ApiDeps = {
  store: new DynamoTaskStore(tracer.captureAWSv3Client(createDocumentClient(config)), config.tableName),
  queue: new SqsTaskQueue(tracer.captureAWSv3Client(createSqsClient(config)), config.queueUrl),
  registry,
  clock: () => new Date(),
  log: logger,
  metrics,
  maxBodyBytes: config.maxBodyBytes,
  retryAfterSeconds: config.retryAfterSeconds,
  defaultMaxAttempts: config.defaultMaxAttempts,
  ttlDays: config.ttlDays,
};

export const handler = async (
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  await tracer.loadIfSampled();
  logger.addContext(context);
  logger.resetKeys();
  logger.appendKeys({ [LOG_KEYS.requestId]: event.requestContext.requestId });
  try {
    return toLambdaResult(await handleApiRequest(toHttpRequest(event), deps));
  } finally {
    metrics.flush();
  }
};
