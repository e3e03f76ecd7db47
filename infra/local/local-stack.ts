import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { SweepReport } from '../../functions/recovery/sweep-stuck-tasks.js';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { announceSdkClient } from '../../shared/aws/clients.js';
import { ENV } from '../../shared/env-names.js';
import { functionEnvironment } from '../function-environment.js';
import { settings as defaultSettings, type Settings, visibilityTimeoutSeconds } from '../settings.js';
import { assertValidSettings } from '../validate-settings.js';
import { type DevKey, deploymentKeyPath, devKeyPath, loadOrCreateDevKey } from './dev-key.js';
import { captureEmf, type EmfEvent } from './emf-capture.js';
import { LOCAL_CREDENTIALS, startEmulators } from './emulators.js';
import { startHttpFront } from './http-front.js';
import { lambdaContext } from './lambda-context.js';
import { createLocalAuthorizer } from './local-authorizer.js';
import { LocalFunction, type ThreadSetup } from './local-function.js';
import { startOpsConsole } from './ops-console.js';
import { type LocalResources, provisionResources } from './provision.js';
import { startRecoverySchedule } from './recovery-schedule.js';
import { type SqsHandler, startEventSource } from './sqs-event-source.js';

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
  /** Register the demonstration task types (echo, sleep): on locally, where one tries offload out. @default true */
  readonly demoTasks?: boolean;
  /** Signs the tokens the front accepts. @default the key file at devKeyPath(dataDir), created if missing */
  readonly devKey?: DevKey;
  /** Emit the functions' metrics (they feed the console). @default true */
  readonly metrics?: boolean;
  /**
   * Where worker invocations run: `thread` (the default) gives each its own execution environment,
   * ended at the timeout as Lambda ends it; `inline` runs them in this process, where a timed-out
   * handler cannot be stopped (the benchmark uses it: its SDK counters see this process's clients).
   * @default 'thread'
   */
  readonly workerIsolation?: 'thread' | 'inline';
  /** Worker environments started before any traffic, as provisioned concurrency keeps them. @default 0 */
  readonly prewarmWorkers?: number;
  /** Loaded in every worker thread before the handler: tools for the thread's SDK clients (chaos faults). */
  readonly workerThreadSetup?: ThreadSetup;
  /** What `workerThreadSetup` reports from the threads. */
  readonly onWorkerReport?: (payload: unknown) => void;
  /** Fault injection for chaos runs. @default none */
  readonly faults?: WorkerFaults;
  /** Called with each recovery sweep's report. */
  readonly onSweep?: (report: SweepReport) => void;
  /** Called with the functions' metric events (EMF), as the console gets them. */
  readonly onMetricEvents?: (events: EmfEvent[]) => void;
  /** Powertools log level of the functions. @default INFO */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
}

/** Failures the chaos run injects into worker invocations. */
export interface WorkerFaults {
  /** True: the invocation runs but its response is dropped (the function died just before returning). */
  readonly dropResponse?: () => boolean;
  /** Milliseconds into the invocation at which its environment dies (a crash mid-attempt), or undefined. */
  readonly killAfterMs?: (event: SQSEvent) => number | undefined;
  /**
   * True: the worker fails this record before claiming its task (say the claim keeps throwing for
   * that item), so only its message comes back, each time one receive closer to the dead-letter queue.
   */
  readonly failBeforeClaim?: (record: SQSRecord) => boolean;
}

export interface LocalStack {
  readonly url: string;
  readonly resources: LocalResources;
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string; readonly s3: string };
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
  const s = options.settings ?? defaultSettings;
  const visibility = options.visibilityTimeoutSeconds ?? visibilityTimeoutSeconds(s.worker);
  // The same checks as the CDK synth: settings that would lose or strand tasks refuse to start.
  const demoTasks = options.demoTasks ?? true;
  assertValidSettings(
    s,
    createTaskRegistry({ demo: demoTasks, diagnostic: options.diagnosticTasks ?? false }),
    visibility,
  );
  running = true;
  const emulators = await startEmulators({ dataDir: options.dataDir, maxObjectBytes: s.taskData.maxObjectBytes });
  const clientConfig = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
  const sqs = announceSdkClient(new SQSClient({ ...clientConfig, endpoint: emulators.sqsEndpoint }), 'local-stack');
  const dynamodb = announceSdkClient(
    new DynamoDBClient({ ...clientConfig, endpoint: emulators.dynamodbEndpoint }),
    'local-stack',
  );
  const s3 = new S3Client({ ...clientConfig, endpoint: emulators.s3Endpoint, forcePathStyle: true });
  const resources = await provisionResources({ dynamodb, sqs, s3 }, s, visibility);
  s3.destroy();

  Object.assign(process.env, {
    ...functionEnvironment(
      {
        tableName: resources.tableName,
        queueUrl: resources.queueUrl,
        diagnosticTasks: options.diagnosticTasks,
        demoTasks,
        deploymentKeyFile: deploymentKeyPath(options.dataDir),
        taskDataBucket: resources.taskDataBucket,
      },
      s,
    ),
    [ENV.dynamodbEndpoint]: emulators.dynamodbEndpoint,
    [ENV.sqsEndpoint]: emulators.sqsEndpoint,
    [ENV.s3Endpoint]: emulators.s3Endpoint,
    // Dummy credentials keep the SDK from probing for real ones (instance metadata timeouts).
    AWS_REGION: clientConfig.region,
    AWS_ACCESS_KEY_ID: clientConfig.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: clientConfig.credentials.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'INFO',
    POWERTOOLS_DEV: 'true',
    // POWERTOOLS_DEV turns metrics off; the local console reads them (captureEmf below).
    POWERTOOLS_METRICS_DISABLED: options.metrics === false ? 'true' : 'false',
  });
  const functionEnv = { ...process.env };
  const [api, deadLetter, recovery] = await Promise.all([
    import('../../functions/api/handler.js'),
    import('../../functions/dead-letter/handler.js'),
    import('../../functions/recovery/handler.js'),
  ]);

  const onError = (error: unknown) => {
    if (options.logLevel !== 'SILENT') console.error('[local stack]', error);
  };
  const opsConsole = startOpsConsole({ sqs, dynamodb, resources, onError });
  // The functions' EMF lines feed the console instead of the terminal, as CloudWatch takes them from the logs in AWS.
  const releaseStdout = captureEmf((events) => {
    opsConsole.addMetricEvents(events);
    options.onMetricEvents?.(events);
  });
  const worker = await workerHandler(s, functionEnv, options);
  const workerMapping = startEventSource({
    sqs,
    queueUrl: resources.queueUrl,
    queueArn: resources.queueArn,
    handler: worker.handler,
    context: () => lambdaContext('offload-worker', s.worker.timeoutSeconds * 1000, s.worker.memoryMiB),
    timeoutMs: worker.timeoutMs,
    batchSize: s.worker.batchSize,
    maxBatchingWindowSeconds: s.worker.maxBatchingWindowSeconds,
    maxConcurrency: s.worker.maxConcurrency,
    waitTimeSeconds: s.local.pollWaitSeconds,
    onError,
    crashInvocation: options.faults?.dropResponse,
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
    onReport: options.onSweep,
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
    endpoints: { dynamodb: emulators.dynamodbEndpoint, sqs: emulators.sqsEndpoint, s3: emulators.s3Endpoint },
    devKey,
    async stop() {
      await front.stop();
      recoverySchedule.stop();
      opsConsole.stop();
      await Promise.all([workerMapping.stop(), deadLetterMapping.stop()]);
      await worker.stop();
      sqs.destroy();
      dynamodb.destroy();
      await emulators.stop();
      releaseStdout();
      running = false;
    },
  };
}

/**
 * The worker function as the event source mapping invokes it: in its own execution environments
 * (threads ended at the timeout), or inline. Chaos faults wrap either.
 */
async function workerHandler(
  s: Settings,
  env: NodeJS.ProcessEnv,
  options: LocalStackOptions,
): Promise<{ handler: SqsHandler; timeoutMs?: number; stop(): Promise<void> }> {
  const faults = options.faults;
  /** Takes the records `failBeforeClaim` picks out of the batch and reports them failed, as the handler would. */
  const withRecordFaults =
    (invoke: SqsHandler): SqsHandler =>
    async (event, context) => {
      const failing = new Set(event.Records.filter((record) => faults?.failBeforeClaim?.(record)));
      const rest = event.Records.filter((record) => !failing.has(record));
      const response = rest.length > 0 ? await invoke({ Records: rest }, context) : undefined;
      const failures = [...failing].map((record) => ({ itemIdentifier: record.messageId }));
      return { batchItemFailures: [...(response?.batchItemFailures ?? []), ...failures] };
    };
  if (options.workerIsolation === 'inline') {
    const { handler } = await import('../../functions/worker/handler.js');
    const timeoutMs = s.worker.timeoutSeconds * 1000;
    return { handler: faults ? withRecordFaults(handler) : handler, timeoutMs, stop: async () => {} };
  }
  const fn = new LocalFunction({
    name: 'offload-worker',
    handlerModule: new URL('../../functions/worker/handler.ts', import.meta.url).href,
    timeoutMs: s.worker.timeoutSeconds * 1000,
    memoryMiB: s.worker.memoryMiB,
    env,
    setup: options.workerThreadSetup,
    onReport: options.onWorkerReport,
    // Lines go through this process's stdout, where the EMF capture takes the metrics off, as in CloudWatch Logs.
    onOutput: (line, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`),
  });
  if (options.prewarmWorkers) await fn.warm(options.prewarmWorkers);
  const invoke: SqsHandler = async (event) =>
    (await fn.invoke(event, { killAfterMs: faults?.killAfterMs?.(event) })) as SQSBatchResponse | undefined;
  // The environment enforces the timeout itself, from the end of its cold start as Lambda counts it.
  return { handler: faults ? withRecordFaults(invoke) : invoke, stop: () => fn.stop() };
}

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');
