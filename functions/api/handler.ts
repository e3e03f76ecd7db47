import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoFairShare } from '../../shared/aws/dynamo-fair-share.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createKeyRing } from '../../shared/aws/key-ring.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../../shared/config.js';
import { LOG_KEYS, RECOVERY_COUNTS, SERVICE_NAMES } from '../../shared/metric-names.js';
import { type OwnerGroup, ownerGrouper } from '../../shared/owner-group.js';
import { type OwnerHash, ownerHasher } from '../../shared/owner-hash.js';
import type { TaskTypes } from '../tasks/define-task.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { toHttpRequest, toLambdaResult } from './api-gateway-event.js';
import { errorResponse } from './http.js';
import { type ApiDeps, handleApiRequest } from './routes.js';

export type ApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The API Lambda's handler for the task types of `taskTypes` (a task module's export). Call it once,
 * at module scope: what it builds (configuration, clients, registry) lives as long as the container.
 */
export function createApiHandler(taskTypes: TaskTypes = {}): ApiHandler {
  const config = loadConfig();
  const registry = createTaskRegistry({ tasks: taskTypes, diagnostic: config.diagnosticTasks });
  const { logger, tracer, metrics } = createObservability(SERVICE_NAMES.api, (type) => registry.has(type));
  const documents = tracer.captureAWSv3Client(createDocumentClient(config));
  const { fairness } = config;
  const deps: ApiDeps = {
    store: new DynamoTaskStore(documents, config.tableName),
    queue: new SqsTaskQueue(tracer.captureAWSv3Client(createSqsClient(config)), config.queueUrl, {
      fairQueues: config.fairness.fairQueues,
    }),
    registry,
    clock: () => new Date(),
    log: logger,
    metrics,
    maxBodyBytes: config.maxBodyBytes,
    retryAfterSeconds: config.retryAfterSeconds,
    defaultMaxAttempts: config.defaultMaxAttempts,
    ttlDays: config.ttlDays,
    ...(fairness.tableName &&
      fairness.submitRate && {
        submitRate: {
          limiter: new DynamoFairShare(documents, fairness.tableName, () =>
            metrics.record(RECOVERY_COUNTS.writeRecovered, ''),
          ),
          rate: fairness.submitRate,
        },
      }),
  };
  // Loaded on the first request that has a caller, then kept for the container's life.
  const keyRing = createKeyRing(config, { instrument: (client) => tracer.captureAWSv3Client(client) });
  let ownerHash: OwnerHash | undefined;
  let ownerGroup: OwnerGroup | undefined;

  // A declaration, so stack traces name it `handler` (an arrow function would be anonymous).
  async function handler(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
    await tracer.loadIfSampled();
    logger.addContext(context);
    logger.resetKeys();
    logger.appendKeys({ [LOG_KEYS.requestId]: event.requestContext.requestId });
    const request = toHttpRequest(event, { perSessionRoles: config.iamPerSessionRoles });
    try {
      if (request.ownerId !== undefined) {
        try {
          const key = await keyRing.deploymentKey();
          ownerHash ??= ownerHasher(key);
          ownerGroup ??= ownerGrouper(key);
        } catch (error) {
          return toLambdaResult(errorResponse(error, request.requestId, logger, config.retryAfterSeconds));
        }
        // Every line of this invocation names the caller the same way as the request line.
        logger.appendKeys({ [LOG_KEYS.ownerHash]: ownerHash(request.ownerId) });
      }
      return toLambdaResult(await handleApiRequest(request, { ...deps, ownerHash, ownerGroup }));
    } finally {
      metrics.flush();
    }
  }
  return handler;
}
