import type { Context } from 'aws-lambda';
import { createDocumentClient, createSqsClient } from '../../shared/aws/clients.js';
import { DynamoScheduleStore } from '../../shared/aws/dynamo-schedule-store.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { createObservability } from '../../shared/aws/powertools-observability.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { SERVICE_NAMES } from '../../shared/metric-names.js';
import { createTaskRegistry } from '../tasks/registry.js';
import { type FireDeps, type FireReport, fire } from './fire.js';

const config = loadConfig();
if (!config.schedules.tableName) throw new ConfigError('The fire function needs the schedule table.');
const registry = createTaskRegistry({ demo: config.demoTasks, diagnostic: config.diagnosticTasks });
const { logger, tracer, metrics } = createObservability(SERVICE_NAMES.scheduleFire, (type) => registry.has(type));
const documents = tracer.captureAWSv3Client(createDocumentClient(config));
const deps: FireDeps = {
  store: new DynamoTaskStore(documents, config.tableName),
  queue: new SqsTaskQueue(tracer.captureAWSv3Client(createSqsClient(config)), config.queueUrl),
  scheduleStore: new DynamoScheduleStore(documents, config.schedules.tableName),
  registry,
  clock: () => new Date(),
  log: logger,
  metrics,
  defaultMaxAttempts: config.defaultMaxAttempts,
  ttlDays: config.ttlDays,
};

/** Invoked by EventBridge Scheduler (asynchronously) with the schedule's input; a throw is retried by Lambda. */
export const handler = async (event: unknown, context: Context): Promise<FireReport> => {
  await tracer.loadIfSampled();
  logger.addContext(context);
  try {
    return await fire(event, deps);
  } finally {
    metrics.flush();
  }
};
