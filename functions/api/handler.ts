import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createKeyRing } from '../../shared/aws/key-ring.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../../shared/config.js';
import { lazyBlobStore } from '../../shared/lazy-blob-store.js';
import { LOG_KEYS, SERVICE_NAMES } from '../../shared/metric-names.js';
import { type OwnerHash, ownerHasher } from '../../shared/owner-hash.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { toHttpRequest, toLambdaResult } from './api-gateway-event.js';
import { errorResponse } from './http.js';
import { type ApiDeps, handleApiRequest } from './routes.js';

const config = loadConfig();
const registry = createTaskRegistry({ demo: config.demoTasks, diagnostic: config.diagnosticTasks });
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
  taskData: taskDataOf(config),
};
// Loaded on the first request that has a caller, then kept for the container's life.
const keyRing = createKeyRing(config, { instrument: (client) => tracer.captureAWSv3Client(client) });
let ownerHash: OwnerHash | undefined;

export const handler = async (
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  await tracer.loadIfSampled();
  logger.addContext(context);
  logger.resetKeys();
  logger.appendKeys({ [LOG_KEYS.requestId]: event.requestContext.requestId });
  const request = toHttpRequest(event, { perSessionRoles: config.iamPerSessionRoles });
  try {
    if (request.ownerId !== undefined) {
      try {
        ownerHash ??= ownerHasher(await keyRing.deploymentKey());
      } catch (error) {
        return toLambdaResult(errorResponse(error, request.requestId, logger, config.retryAfterSeconds));
      }
      // Every line of this invocation names the caller the same way as the request line.
      logger.appendKeys({ [LOG_KEYS.ownerHash]: ownerHash(request.ownerId) });
    }
    return toLambdaResult(await handleApiRequest(request, { ...deps, ownerHash }));
  } finally {
    metrics.flush();
  }
};

/**
 * The task data bucket, its S3 client built on the first request that needs it: the S3 SDK is in a
 * chunk of its own (code splitting), so cold starts and small tasks never load it.
 */
function taskDataOf(c: typeof config): ApiDeps['taskData'] {
  const { taskData } = c;
  if (!taskData) return undefined;
  const blobs = lazyBlobStore(async () => {
    const { S3BlobStore, createS3Client } = await import('../../shared/aws/s3-blob-store.js');
    return new S3BlobStore(tracer.captureAWSv3Client(createS3Client(c)), taskData.bucket);
  });
  return { blobs, limits: taskData };
}
