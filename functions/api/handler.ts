import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoFairShare } from '../../shared/aws/dynamo-fair-share.js';
import { DynamoScheduleStore } from '../../shared/aws/dynamo-schedule-store.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { EventBridgeScheduleService } from '../../shared/aws/eventbridge-schedule-service.js';
import { createKeyRing } from '../../shared/aws/key-ring.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsCallbackQueue } from '../../shared/aws/sqs-callback-queue.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { taskDataOf } from '../../shared/aws/task-data-bucket.js';
import { checkCallbackUrl, resolveWithDns } from '../../shared/callbacks/callback-url.js';
import { formatSecret, ownerSigningKey } from '../../shared/callbacks/signing.js';
import { loadConfig } from '../../shared/config.js';
import { LOG_KEYS, RECOVERY_COUNTS, SERVICE_NAMES } from '../../shared/metric-names.js';
import { type OwnerGroup, ownerGrouper } from '../../shared/owner-group.js';
import { type OwnerHash, ownerHasher } from '../../shared/owner-hash.js';
import type { TaskTypes } from '../tasks/define-task.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { toHttpRequest, toLambdaResult } from './api-gateway-event.js';
import { errorResponse, type HttpRequest } from './http.js';
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
  const sqs = tracer.captureAWSv3Client(createSqsClient(config));
  const { callbacks, fairness } = config;
  // Loaded on the first request that has a caller, then kept for the container's life.
  const keyRing = createKeyRing(config, { instrument: (client) => tracer.captureAWSv3Client(client) });
  const documents = tracer.captureAWSv3Client(createDocumentClient(config));
  const deps: ApiDeps = {
    store: new DynamoTaskStore(documents, config.tableName),
    queue: new SqsTaskQueue(sqs, config.queueUrl, { lanes: config.lanes, fairQueues: fairness.fairQueues }),
    lanes: Object.keys(config.lanes),
    registry,
    clock: () => new Date(),
    log: logger,
    metrics,
    maxBodyBytes: config.maxBodyBytes,
    retryAfterSeconds: config.retryAfterSeconds,
    defaultMaxAttempts: config.defaultMaxAttempts,
    ttlDays: config.ttlDays,
    ...(callbacks.queueUrl && {
      callbackQueue: new SqsCallbackQueue(sqs, callbacks.queueUrl),
      checkCallbackUrl: (url: string) => checkCallbackUrl(url, callbacks, resolveWithDns),
      // The current version's secret; during a rotation the previous one still signs, but is not handed out.
      callbackSecret: async (ownerId: string) =>
        formatSecret(ownerSigningKey(await keyRing.deploymentKey(), ownerId, callbacks.signingKeyVersions[0] ?? 1)),
    }),
    ...(config.schedules.tableName && {
      scheduleStore: new DynamoScheduleStore(documents, config.schedules.tableName),
    }),
    // The Scheduler client is imported on its first use, not here.
    ...(config.schedules.target && {
      scheduler: new EventBridgeScheduleService(config.schedules.target, {
        endpoint: config.endpoints.scheduler,
        instrument: (client) => tracer.captureAWSv3Client(client),
      }),
    }),
    scheduleLimits: config.schedules,
    taskData: taskDataOf(config, (client) => tracer.captureAWSv3Client(client)),
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
  let ownerHash: OwnerHash | undefined;
  let ownerGroup: OwnerGroup | undefined;

  // A declaration, so stack traces name it `handler` (an arrow function would be anonymous).
  async function handler(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
    await tracer.loadIfSampled();
    logger.addContext(context);
    logger.resetKeys();
    logger.appendKeys({ [LOG_KEYS.requestId]: event.requestContext?.requestId });
    let request: HttpRequest;
    try {
      request = toHttpRequest(event, { perSessionRoles: config.iamPerSessionRoles });
    } catch (error) {
      // An event missing what API Gateway always sends: still an answer in the API's format, and a log line.
      return toLambdaResult(
        errorResponse(error, event.requestContext?.requestId ?? '', logger, config.retryAfterSeconds),
      );
    }
    try {
      if (request.ownerId !== undefined) {
        try {
          // Once per container: the key ring keeps the key, the hashers are built from it once.
          if (!ownerHash || !ownerGroup) {
            const key = await keyRing.deploymentKey();
            ownerHash = ownerHasher(key);
            ownerGroup = ownerGrouper(key);
          }
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
