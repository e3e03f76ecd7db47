import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type ApiHandler, createApiHandler } from '../../functions/api/handler.js';
import { createDeadLetterHandler } from '../../functions/dead-letter/handler.js';
import { createRecoveryHandler } from '../../functions/recovery/handler.js';
import type { SweepReport } from '../../functions/recovery/sweep-stuck-tasks.js';
import type { TaskTypes } from '../../functions/tasks/define-task.js';
import { createWorkerHandler } from '../../functions/worker/handler.js';
import { announceSdkClient } from '../../shared/aws/clients.js';
import { ENV } from '../../shared/env-names.js';
import { functionEnvironment } from '../function-environment.js';
import { demoTaskModule, HANDLER_FACTORIES, ownModulePath } from '../lambda-entry.js';
import { settings as defaultSettings, type Settings, visibilityTimeoutSeconds } from '../settings.js';
import { type DevKey, deploymentKeyPath, devKeyPath, loadOrCreateDevKey } from './dev-key.js';
import { captureEmf, type EmfEvent } from './emf-capture.js';
import { startEmulators } from './emulators.js';
import { startHttpFront } from './http-front.js';
import { lambdaContext } from './lambda-context.js';
import { createLocalAuthorizer } from './local-authorizer.js';
import { LocalFunction, type ThreadSetup } from './local-function.js';
import { startOpsConsole } from './ops-console.js';
import { type LocalResources, provisionResources } from './provision.js';
import { startRecoverySchedule } from './recovery-schedule.js';
import { type SqsHandler, startEventSource } from './sqs-event-source.js';
import { importTaskTypes, inspectTaskModule, taskModuleFiles, toFileUrl } from './task-module.js';

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
  /** Register the diagnostic task types (`diagnosticTaskTypes` in functions/tasks/registry.ts). @default false */
  readonly diagnosticTasks?: boolean;
  /**
   * The task module (path or file URL) whose `taskTypes` the functions serve.
   * @default this repository's demonstration types (functions/tasks/demo.ts)
   */
  readonly taskModule?: string;
  /**
   * Run the functions that load the task module (API, worker, dead-letter handler) each in execution
   * environments of its own, so that {@link LocalStack.reloadTasks} can load it again, changed
   * (`offload dev`). Without it the API and the dead-letter handler run in this process, where tests,
   * the chaos run and the benchmark reach their SDK clients.
   * @default false
   */
  readonly reloadableTasks?: boolean;
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
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string };
  /** The key behind the local JWT authorizer: mint tokens with mintDevToken(devKey, { sub }). */
  readonly devKey: DevKey;
  /** The task types the functions serve now. */
  readonly taskTypeNames: readonly string[];
  /** The task module's files and those it imports, outside node_modules: a change to one calls for {@link reloadTasks}. */
  readonly taskFiles: readonly string[];
  /**
   * Loads the task module again (it changed; needs `reloadableTasks`): the functions' environments end
   * once idle and cold-start with the new code. Throws, keeping the running code, when the module
   * fails to load or its task types do not fit the settings.
   */
  reloadTasks(): Promise<void>;
  stop(): Promise<void>;
}

let running = false;

/**
 * Runs the real handlers against in-process emulators: an HTTP front shaped like API Gateway and
 * pollers shaped like the Lambda event source mappings. One per process: the handler factories read
 * their configuration from this process's environment, as they read Lambda's at init.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (running) throw new Error('A local stack is already running in this process.');
  const s = options.settings ?? defaultSettings;
  const visibility = options.visibilityTimeoutSeconds ?? visibilityTimeoutSeconds(s.worker);
  const taskModuleUrl = toFileUrl(options.taskModule ?? demoTaskModule());
  // The same checks as the CDK synth (names, and settings that would lose or strand tasks): a module
  // that fails them refuses to start, or to reload.
  const inspect = async () => ({
    names: await inspectTaskModule(taskModuleUrl, {
      settings: s,
      visibility,
      diagnostic: options.diagnosticTasks ?? false,
    }),
    files: taskModuleFiles(fileURLToPath(taskModuleUrl)),
  });
  let tasks = await inspect();
  running = true;
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
  const resources = await provisionResources({ dynamodb, sqs }, s, visibility);

  Object.assign(process.env, {
    ...functionEnvironment(
      {
        tableName: resources.tableName,
        queueUrl: resources.queueUrl,
        diagnosticTasks: options.diagnosticTasks,
        deploymentKeyFile: deploymentKeyPath(options.dataDir),
        fairShareTableName: resources.fairShareTableName,
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
  const functionEnv = { ...process.env };
  const recovery = createRecoveryHandler();

  const onError = (error: unknown) => {
    if (options.logLevel !== 'SILENT') console.error('[local stack]', error);
  };
  const opsConsole = startOpsConsole({ sqs, dynamodb, resources, onError });
  // The functions' EMF lines feed the console instead of the terminal, as CloudWatch takes them from the logs in AWS.
  const releaseStdout = captureEmf((events) => {
    opsConsole.addMetricEvents(events);
    options.onMetricEvents?.(events);
  });
  const thread = (kind: 'api' | 'dead-letter', timeoutSeconds: number, memoryMiB: number, maxEnvironments: number) =>
    threadFunction(kind, { taskModuleUrl, timeoutSeconds, memoryMiB, env: functionEnv, maxEnvironments });
  // Built as the deployed entries build them (infra/lambda-entry.ts): in threads when the code must be
  // reloadable, else in this process from the task module loaded once.
  const taskTypes = options.reloadableTasks ? undefined : await importTaskTypes(taskModuleUrl);
  const api = taskTypes
    ? inProcess(createApiHandler(taskTypes))
    : thread('api', s.api.timeoutSeconds, s.api.memoryMiB, API_ENVIRONMENTS);
  const deadLetter = taskTypes
    ? inProcess(createDeadLetterHandler(taskTypes))
    : thread('dead-letter', s.dlq.timeoutSeconds, s.dlq.memoryMiB, 1);
  const worker = await workerHandler(s, functionEnv, options, taskModuleUrl, taskTypes);
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
    handler: deadLetter.handler as SqsHandler,
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
    handler: recovery,
    context: () => lambdaContext('offload-recovery', s.recovery.timeoutSeconds * 1000, s.recovery.memoryMiB),
    intervalMs: s.recovery.localIntervalSeconds * 1000,
    fairQueues: s.fairness.fairQueues,
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
    handler: api.handler as ApiHandler,
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
    get taskTypeNames() {
      return tasks.names;
    },
    get taskFiles() {
      return tasks.files;
    },
    async reloadTasks() {
      if (!options.reloadableTasks) throw new Error('This local stack was started without reloadableTasks.');
      tasks = await inspect();
      for (const fn of [api, deadLetter, worker]) fn.refresh();
    },
    async stop() {
      await front.stop();
      recoverySchedule.stop();
      opsConsole.stop();
      await Promise.all([workerMapping.stop(), deadLetterMapping.stop()]);
      await Promise.all([worker.stop(), api.stop(), deadLetter.stop()]);
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
  taskModuleUrl: string,
  taskTypes: TaskTypes | undefined,
): Promise<{ handler: SqsHandler; timeoutMs?: number; refresh(): void; stop(): Promise<void> }> {
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
    if (!taskTypes) throw new Error('An inline worker cannot reload its task module: leave reloadableTasks off.');
    const handler: SqsHandler = createWorkerHandler(taskTypes);
    const timeoutMs = s.worker.timeoutSeconds * 1000;
    return {
      handler: faults ? withRecordFaults(handler) : handler,
      timeoutMs,
      refresh: () => {},
      stop: async () => {},
    };
  }
  const { module, factory } = HANDLER_FACTORIES.worker;
  const fn = new LocalFunction({
    name: 'offload-worker',
    handlerModule: pathToFileURL(ownModulePath(module)).href,
    factory,
    taskModule: taskModuleUrl,
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
  return {
    handler: faults ? withRecordFaults(invoke) : invoke,
    // New environments load the task module afresh: a thread has a module cache of its own.
    refresh: () => fn.refresh(),
    stop: () => fn.stop(),
  };
}

/** API environments at most: enough for a developer's parallel requests without a thread per request. */
const API_ENVIRONMENTS = 4;

interface RunningFunction {
  readonly handler: (event: never, context: Context) => Promise<unknown>;
  refresh(): void;
  stop(): Promise<void>;
}

/** A function that runs in this process: built once, never reloaded. */
function inProcess(handler: (event: never, context: Context) => Promise<unknown>): RunningFunction {
  return { handler, refresh: () => {}, stop: async () => {} };
}

/** A function whose invocations run in execution environments of its own (threads), reloadable. */
function threadFunction(
  kind: 'api' | 'dead-letter',
  options: {
    readonly taskModuleUrl: string;
    readonly timeoutSeconds: number;
    readonly memoryMiB: number;
    readonly env: NodeJS.ProcessEnv;
    readonly maxEnvironments: number;
  },
): RunningFunction {
  const { module, factory } = HANDLER_FACTORIES[kind];
  const fn = new LocalFunction({
    name: `offload-${kind}`,
    handlerModule: pathToFileURL(ownModulePath(module)).href,
    factory,
    taskModule: options.taskModuleUrl,
    timeoutMs: options.timeoutSeconds * 1000,
    memoryMiB: options.memoryMiB,
    maxEnvironments: options.maxEnvironments,
    env: options.env,
    onOutput: (line, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`),
  });
  return { handler: async (event: never) => fn.invoke(event), refresh: () => fn.refresh(), stop: () => fn.stop() };
}

export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');
