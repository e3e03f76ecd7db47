import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { announceSdkClient } from '../../shared/aws/clients.js';
import { ENV } from '../../shared/env-names.js';
import { functionEnvironment } from '../function-environment.js';
import { settings as defaultSettings, type Settings, visibilityTimeoutSeconds } from '../settings.js';
import { type DevKey, deploymentKeyPath, devKeyPath, loadOrCreateDevKey } from './dev-key.js';
import { captureEmf } from './emf-capture.js';
import { startEmulators } from './emulators.js';
import { startHttpFront } from './http-front.js';
import { lambdaContext } from './lambda-context.js';
import { createLocalAuthorizer } from './local-authorizer.js';
import { startOpsConsole } from './ops-console.js';
import { type LocalResources, provisionResources } from './provision.js';
import { startRecoverySchedule } from './recovery-schedule.js';
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
  /** Signs the tokens the front accepts. @default the key file at devKeyPath(dataDir), created if missing */
  readonly devKey?: DevKey;
  /** Emit the functions' metrics (they feed the console). @default true */
  readonly metrics?: boolean;
  /** Fault injection for chaos runs: see EventSourceOptions.crashInvocation. @default none */
  readonly crashWorkerInvocation?: () => boolean;
  /** Powertools log level of the functions. @default INFO */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
}

export interface LocalStack {
  readonly url: string;
  readonly resources: LocalResources;
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string };
  /** The key behind the local JWT authorizer: mint tokens with mintDevToken(devKey, { sub }). */
  readonly devKey: DevKey;
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
  const sqs = announceSdkClient(new SQSClient({ ...clientConfig, endpoint: emulators.sqsEndpoint }), 'local-stack');
  const dynamodb = announceSdkClient(
    new DynamoDBClient({ ...clientConfig, endpoint: emulators.dynamodbEndpoint }),
    'local-stack',
  );
  const resources = await provisionResources(
    { dynamodb, sqs },
    s,
    options.visibilityTimeoutSeconds ?? visibilityTimeoutSeconds(s.worker),
  );

  Object.assign(process.env, {
    ...functionEnvironment(
      {
        tableName: resources.tableName,
        queueUrl: resources.queueUrl,
        diagnosticTasks: options.diagnosticTasks,
        deploymentKeyFile: deploymentKeyPath(options.dataDir),
      },
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
    // POWERTOOLS_DEV turns metrics off; the local console reads them (captureEmf below).
    POWERTOOLS_METRICS_DISABLED: options.metrics === false ? 'true' : 'false',
  });
  const [api, worker, deadLetter, recovery] = await Promise.all([
    import('../../functions/api/handler.js'),
    import('../../functions/worker/handler.js'),
    import('../../functions/dead-letter/handler.js'),
    import('../../functions/recovery/handler.js'),
  ]);

  const onError = (error: unknown) => {
    if (options.logLevel !== 'SILENT') console.error('[local stack]', error);
  };
  const opsConsole = startOpsConsole({ sqs, dynamodb, resources, onError });
  // The functions' EMF lines feed the console instead of the terminal, as CloudWatch takes them from the logs in AWS.
  const releaseStdout = captureEmf(opsConsole.addMetricEvents);
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
    crashInvocation: options.crashWorkerInvocation,
  });
  const deadLetterMapping = startEventSource({
    sqs,
    queueUrl: resources.deadLetterQueueUrl,
    queueArn: resources.deadLetterQueueArn,
    handler: deadLetter.handler,
    context: () => lambdaContext('offload-dead-letter', s.dlq.timeoutSeconds * 1000, s.dlq.memoryMiB),
    timeoutMs: s.dlq.timeoutSeconds * 1000,
    batchSize: s.dlq.batchSize,
    maxBatchingWindowSeconds: 0,
    maxConcurrency: 1,
    waitTimeSeconds: s.local.pollWaitSeconds,
    onError,
  });
  const recoverySchedule = await startRecoverySchedule({
    dynamodb,
    sqs,
    resources,
    handler: recovery.handler,
    context: () => lambdaContext('offload-recovery', s.recovery.timeoutSeconds * 1000, s.recovery.memoryMiB),
    intervalMs: s.recovery.localIntervalSeconds * 1000,
    log: {
      debug: () => {},
      info: (message) => options.logLevel !== 'SILENT' && console.log(`[local stack] ${message}`),
      warn: () => {},
      error: (message, ...extra) => onError(new Error(`${message} ${JSON.stringify(extra)}`)),
    },
    onError,
  });
  const devKey = options.devKey ?? (await loadOrCreateDevKey(devKeyPath(options.dataDir)));
  const front = await startHttpFront({
    host: options.host ?? s.local.host,
    port: options.port ?? s.local.port,
    handler: api.handler,
    context: () => lambdaContext('offload-api', s.api.timeoutSeconds * 1000, s.api.memoryMiB),
    onError,
    // The console shows every owner's tasks without a token: loopback only.
    localRoutes: isLoopback(options.host ?? s.local.host) ? opsConsole.handle : undefined,
    authorize: createLocalAuthorizer(devKey),
  });

  return {
    url: front.url,
    resources,
    endpoints: { dynamodb: emulators.dynamodbEndpoint, sqs: emulators.sqsEndpoint },
    devKey,
    async stop() {
      await front.stop();
      recoverySchedule.stop();
      opsConsole.stop();
      await Promise.all([workerMapping.stop(), deadLetterMapping.stop()]);
      sqs.destroy();
      dynamodb.destroy();
      await emulators.stop();
      releaseStdout();
      running = false;
    },
  };
}

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');
