import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createKeyRing } from '../../shared/aws/key-ring.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { type SqsBatchHandler, sqsBatchHandler } from '../../shared/aws/sqs-batch-handler.js';
import { SqsCallbackQueue } from '../../shared/aws/sqs-callback-queue.js';
import { taskDataOf } from '../../shared/aws/task-data-bucket.js';
import { HttpCallbackSender } from '../../shared/callbacks/http-callback-sender.js';
import { ownerSigningKeys } from '../../shared/callbacks/signing.js';
import { loadConfig } from '../../shared/config.js';
import { ENV } from '../../shared/env-names.js';
import { ConfigError } from '../../shared/errors.js';
import { RECOVERY_COUNTS, SERVICE_NAMES } from '../../shared/metric-names.js';
import type { TaskTypes } from '../tasks/define-task.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { type DeliverCallbackDeps, deliverCallback } from './deliver-callback.js';

/**
 * The delivery function's handler, fed by the delivery queue's event source mapping: a batch's
 * deliveries run at once, each on its own record. `taskTypes` only decides which task types get their
 * own metric dimension.
 */
export function createCallbackHandler(taskTypes: TaskTypes = {}): SqsBatchHandler {
  const config = loadConfig();
  const { callbacks } = config;
  const queueUrl = callbacks.queueUrl;
  if (!queueUrl) throw new ConfigError(`${ENV.callbackQueueUrl} is not set: the delivery function has no queue.`);
  const registry = createTaskRegistry({ tasks: taskTypes, diagnostic: config.diagnosticTasks });
  const observability = createObservability(SERVICE_NAMES.callbacks, (type) => registry.has(type));
  const { logger, tracer, metrics } = observability;
  const keyRing = createKeyRing(config, { instrument: (client) => tracer.captureAWSv3Client(client) });
  const deps: DeliverCallbackDeps = {
    store: new DynamoTaskStore(tracer.captureAWSv3Client(createDocumentClient(config)), config.tableName, () =>
      metrics.record(RECOVERY_COUNTS.writeRecovered, ''),
    ),
    queue: new SqsCallbackQueue(tracer.captureAWSv3Client(createSqsClient(config)), queueUrl),
    sender: new HttpCallbackSender({
      allowLocal: callbacks.allowLocal,
      timeoutMs: callbacks.requestTimeoutMs,
      maxResponseBytes: callbacks.maxResponseBytes,
    }),
    signingKeys: async (ownerId) =>
      ownerSigningKeys(await keyRing.deploymentKey(), ownerId, callbacks.signingKeyVersions),
    clock: () => new Date(),
    log: logger,
    metrics,
    retryBaseDelaySeconds: callbacks.retryBaseDelaySeconds,
    retryMaxDelaySeconds: callbacks.retryMaxDelaySeconds,
    deliveryWindowSeconds: callbacks.deliveryWindowSeconds,
    taskData: taskDataOf(config, (client) => tracer.captureAWSv3Client(client)),
  };

  return sqsBatchHandler(observability, (record) => deliverCallback(record, deps));
}
