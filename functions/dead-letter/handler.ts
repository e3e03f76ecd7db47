import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { type SqsBatchHandler, sqsBatchHandler } from '../../shared/aws/sqs-batch-handler.js';
import { SqsCallbackQueue } from '../../shared/aws/sqs-callback-queue.js';
import { loadConfig } from '../../shared/config.js';
import { RECOVERY_COUNTS, SERVICE_NAMES } from '../../shared/metric-names.js';
import type { TaskTypes } from '../tasks/define-task.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { type MarkDeadLetteredDeps, markDeadLettered } from './mark-dead-lettered.js';

/**
 * The dead-letter Lambda's handler: fails the tasks whose messages SQS dead-lettered. `taskTypes` only
 * decides which task types get their own metric dimension.
 */
export function createDeadLetterHandler(taskTypes: TaskTypes = {}): SqsBatchHandler {
  const config = loadConfig();
  const registry = createTaskRegistry({ tasks: taskTypes, diagnostic: config.diagnosticTasks });
  const observability = createObservability(SERVICE_NAMES.deadLetter, (type) => registry.has(type));
  const { logger, tracer, metrics } = observability;
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
      callbackQueue: new SqsCallbackQueue(
        tracer.captureAWSv3Client(createSqsClient(config)),
        config.callbacks.queueUrl,
      ),
    }),
  };

  return sqsBatchHandler(observability, (record) => markDeadLettered(record, deps));
}
