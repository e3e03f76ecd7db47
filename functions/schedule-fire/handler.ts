import type { Context } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoScheduleStore } from '../../shared/aws/dynamo-schedule-store.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createKeyRing } from '../../shared/aws/key-ring.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { checkCallbackUrl, resolveWithDns } from '../../shared/callbacks/callback-url.js';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { SERVICE_NAMES } from '../../shared/metric-names.js';
import { type OwnerGroup, ownerGrouper } from '../../shared/owner-group.js';
import type { TaskTypes } from '../tasks/define-task.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { type FireDeps, type FireReport, fire } from './fire.js';

export type ScheduleFireHandler = (event: unknown, context: Context) => Promise<FireReport>;

/**
 * The fire function's handler, invoked by EventBridge Scheduler (asynchronously) with a schedule's
 * input: each firing submits a task of `taskTypes` (a task module's export). A throw is retried by Lambda.
 */
export function createScheduleFireHandler(taskTypes: TaskTypes = {}): ScheduleFireHandler {
  const config = loadConfig();
  const scheduleTable = config.schedules.tableName;
  if (!scheduleTable) throw new ConfigError('The fire function needs the schedule table.');
  const registry = createTaskRegistry({ tasks: taskTypes, diagnostic: config.diagnosticTasks });
  const { logger, tracer, metrics } = createObservability(SERVICE_NAMES.scheduleFire, (type) => registry.has(type));
  const documents = tracer.captureAWSv3Client(createDocumentClient(config));
  const deps: FireDeps = {
    store: new DynamoTaskStore(documents, config.tableName),
    queue: new SqsTaskQueue(tracer.captureAWSv3Client(createSqsClient(config)), config.queueUrl, {
      lanes: config.lanes,
      fairQueues: config.fairness.fairQueues,
    }),
    lanes: Object.keys(config.lanes),
    scheduleStore: new DynamoScheduleStore(documents, scheduleTable),
    registry,
    clock: () => new Date(),
    log: logger,
    metrics,
    defaultMaxAttempts: config.defaultMaxAttempts,
    ttlDays: config.ttlDays,
    // A schedule's task may carry a callback URL: checked again at each firing, as the API checks a submit's.
    ...(config.callbacks.queueUrl && {
      checkCallbackUrl: (url: string) => checkCallbackUrl(url, config.callbacks, resolveWithDns),
    }),
  };

  // The deployment key, read on the first firing, gives the owner's group: a fired task is in its
  // owner's fair-queue group and counts against the owner's concurrency limit like a submitted one.
  const keyRing = createKeyRing(config, { instrument: (client) => tracer.captureAWSv3Client(client) });
  let ownerGroup: OwnerGroup | undefined;

  // A declaration, so stack traces name it `handler` (an arrow function would be anonymous).
  async function handler(event: unknown, context: Context): Promise<FireReport> {
    await tracer.loadIfSampled();
    logger.addContext(context);
    try {
      ownerGroup ??= ownerGrouper(await keyRing.deploymentKey());
      return await fire(event, { ...deps, ownerGroup });
    } finally {
      metrics.flush();
    }
  }
  return handler;
}
