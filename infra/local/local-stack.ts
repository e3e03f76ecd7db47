import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../../shared/env-names.js';
import { functionEnvironment } from '../function-environment.js';
import { settings as defaultSettings, type Settings, visibilityTimeoutSeconds } from '../settings.js';
import { startEmulators } from './emulators.js';
import { startHttpFront } from './http-front.js';
import { lambdaContext } from './lambda-context.js';
import { type LocalResources, provisionResources } from './provision.js';
import { startEventSource } from './sqs-event-source.js';

export interface LocalStackOptions {
  /** @default settings.local.host */
  readonly host?: string;
  /** 0 picks a free port. @default settings.local.port */
  readonly port?: number;
  /** Keep DynamoDB data on disk here. @default in memory */
  readonly dataDir?: string;
  /** @default infra/settings.ts */
  readonly settings?: Settings;
  /** Override for tests that need redelivery within seconds. @default visibilityTimeoutSeconds(settings.worker) */
  readonly visibilityTimeoutSeconds?: number;
  /** Register the diagnostic task types (fail, flaky, crash). @default false */
  readonly diagnosticTasks?: boolean;
  /** Powertools log level of the functions. @default INFO */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
}

export interface LocalStack {
  readonly url: string;
  readonly resources: LocalResources;
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string };
  stop(): Promise<void>;
}

let running = false;

/**
 * Runs the real handler modules against in-process emulators: an HTTP front shaped like API Gateway
 * and pollers shaped like the Lambda event source mappings. One per process: the handlers read
 * their configuration from the environment once, at import, as they do in Lambda.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (running) throw new Error('A local stack is already running in this process.');
  running = true;
  const s = options.settings ?? defaultSettings;
  const emulators = await startEmulators({ dataDir: options.dataDir });
  const clientConfig = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const sqs = new SQSClient({ ...clientConfig, endpoint: emulators.sqsEndpoint });
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: emulators.dynamodbEndpoint });
  const resources = await provisionResources(
    { dynamodb, sqs },
    s,
    options.visibilityTimeoutSeconds ?? visibilityTimeoutSeconds(s.worker),
  );

  Object.assign(process.env, {
    ...functionEnvironment(
      { tableName: resources.tableName, queueUrl: resources.queueUrl, diagnosticTasks: options.diagnosticTasks },
      s,
    ),
    [ENV.dynamodbEndpoint]: emulators.dynamodbEndpoint,
    [ENV.sqsEndpoint]: emulators.sqsEndpoint,
    // Dummy credentials keep the SDK from probing for real ones (instance metadata timeouts).
    AWS_REGION: clientConfig.region,
    AWS_ACCESS_KEY_ID: clientConfig.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: clientConfig.credentials.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'INFO',
    POWERTOOLS_DEV: 'true',
  });
  const [api, worker, deadLetter] = await Promise.all([
    import('../../functions/api/handler.js'),
    import('../../functions/worker/handler.js'),
    import('../../functions/dead-letter/handler.js'),
  ]);

  const onError = (error: unknown) => {
    if (options.logLevel !== 'SILENT') console.error('[local stack]', error);
  };
  const workerMapping = startEventSource({
    sqs,
    queueUrl: resources.queueUrl,
    queueArn: resources.queueArn,
    handler: worker.handler,
    context: () => lambdaContext('offload-worker', s.worker.timeoutSeconds * 1000, s.worker.memoryMiB),
    timeoutMs: s.worker.timeoutSeconds * 1000,
    batchSize: s.worker.batchSize,
    maxBatchingWindowSeconds: s.worker.maxBatchingWindowSeconds,
    maxConcurrency: s.worker.maxConcurrency,
    waitTimeSeconds: s.local.pollWaitSeconds,
    onError,
  });
  const deadLetterMapping = startEventSource({
    sqs,
    queueUrl: resources.deadLetterQueueUrl,
    queueArn: resources.deadLetterQueueArn,
    handler: deadLetter.handler,
    context: () => lambdaContext('offload-dead-letter', s.worker.timeoutSeconds * 1000, 256),
    timeoutMs: s.worker.timeoutSeconds * 1000,
    batchSize: s.dlq.batchSize,
    maxBatchingWindowSeconds: 0,
    maxConcurrency: 1,
    waitTimeSeconds: s.local.pollWaitSeconds,
    onError,
  });
  const front = await startHttpFront({
    host: options.host ?? s.local.host,
    port: options.port ?? s.local.port,
    handler: api.handler,
    context: () => lambdaContext('offload-api', s.api.timeoutSeconds * 1000, s.api.memoryMiB),
    onError,
  });

  return {
    url: front.url,
    resources,
    endpoints: { dynamodb: emulators.dynamodbEndpoint, sqs: emulators.sqsEndpoint },
    async stop() {
      await front.stop();
      await Promise.all([workerMapping.stop(), deadLetterMapping.stop()]);
      sqs.destroy();
      dynamodb.destroy();
      await emulators.stop();
      running = false;
    },
  };
}
