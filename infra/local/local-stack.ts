import { fileURLToPath, pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type ApiHandler, createApiHandler } from '../../functions/api/handler.js';
import { createCallbackHandler } from '../../functions/callbacks/handler.js';
import { createDeadLetterHandler } from '../../functions/dead-letter/handler.js';
import { createRecoveryHandler } from '../../functions/recovery/handler.js';
import type { SweepReport } from '../../functions/recovery/sweep-stuck-tasks.js';
import { createScheduleFireHandler } from '../../functions/schedule-fire/handler.js';
import type { TaskTypes } from '../../functions/tasks/define-task.js';
import { createWorkerHandler } from '../../functions/worker/handler.js';
import { announceSdkClient } from '../../shared/aws/clients.js';
import { ENV } from '../../shared/env-names.js';
import { DEFAULT_LANE } from '../../shared/lanes.js';
import { functionEnvironment, laneEnvironment, schedulerEnvironment } from '../function-environment.js';
import { demoTaskModule, HANDLER_FACTORIES, ownModulePath } from '../lambda-entry.js';
import { type Lane, lanesOf } from '../lanes.js';
import { settings as defaultSettings, type Settings, withModuleLanes } from '../settings.js';
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
import { LOCAL_SCHEDULER, startSchedulerEmulator } from './scheduler-emulator.js';
import { type EventSource, type SqsHandler, startEventSource } from './sqs-event-source.js';
import { importTaskTypes, inspectTaskModule, taskModuleFiles, toFileUrl } from './task-module.js';

export interface LocalStackOptions {
  /** @default settings.local.host */
  readonly host?: string;
  /** 0 picks a free port. @default settings.local.port */
  readonly port?: number;
  /** Keep the table, task data objects and schedules on disk here. @default in memory */
  readonly dataDir?: string;
  /** @default infra/settings.ts */
  readonly settings?: Settings;
  /**
   * The default lane's visibility timeout, for tests that need redelivery within seconds (other lanes
   * keep theirs). @default visibilityTimeoutSeconds(settings.worker)
   */
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
   * The callback delivery function runs the same way.
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
  /**
   * Accept `http` and loopback or private callback URLs (`npm start -- --allow-local-callbacks`), so a
   * receiver on this machine can be called. Off by default: the local stack then refuses them as AWS does.
   * @default false
   */
  readonly allowLocalCallbacks?: boolean;
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
  readonly endpoints: {
    readonly dynamodb: string;
    readonly sqs: string;
    readonly scheduler: string;
    readonly s3: string;
  };
  /** The key behind the local JWT authorizer: mint tokens with mintDevToken(devKey, { sub }). */
  readonly devKey: DevKey;
  /** The task types the functions serve now. */
  readonly taskTypeNames: readonly string[];
  /** Every lane the stack runs, the default one first, with its numbers (the task module's lanes included). */
  readonly lanes: readonly Lane[];
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
  const baseSettings = options.settings ?? defaultSettings;
  const visibility = options.visibilityTimeoutSeconds;
  const taskModuleUrl = toFileUrl(options.taskModule ?? demoTaskModule());
  // The same checks as the CDK synth (names, lanes, and settings that would lose or strand tasks): a
  // module that fails them refuses to start, or to reload.
  const inspect = async () => {
    const inspection = await inspectTaskModule(taskModuleUrl, {
      settings: baseSettings,
      visibility,
      diagnostic: options.diagnosticTasks ?? false,
    });
    return { ...inspection, files: taskModuleFiles(fileURLToPath(taskModuleUrl)) };
  };
  let tasks = await inspect();
  // The module's lanes are queues and pollers: they are set up once, at start.
  const s = withModuleLanes(baseSettings, tasks.lanes);
  const lanes = lanesOf(s, visibility);
  running = true;
  const emulators = await startEmulators({ dataDir: options.dataDir, maxObjectBytes: s.taskData.maxObjectBytes });
  const clientConfig = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
  const sqs = announceSdkClient(new SQSClient({ ...clientConfig, endpoint: emulators.sqsEndpoint }), 'local-stack');
  const dynamodb = announceSdkClient(
    new DynamoDBClient({ ...clientConfig, endpoint: emulators.dynamodbEndpoint }),
    'local-stack',
  );
  const s3 = new S3Client({ ...clientConfig, endpoint: emulators.s3Endpoint, forcePathStyle: true });
  const resources = await provisionResources({ dynamodb, sqs, s3 }, s, lanes);
  s3.destroy();
  // EventBridge Scheduler, playing its part: it invokes the fire function with each firing.
  let fireHandler: ((event: never, context: Context) => Promise<unknown>) | undefined;
  const scheduler = await startSchedulerEmulator({
    dataDir: options.dataDir,
    rateMinuteMs: s.local.scheduleRateMinuteMs,
    invoke: async (_arn, event) => {
      if (!fireHandler) throw new Error('the fire function is not loaded yet');
      return fireHandler(
        event as never,
        lambdaContext('offload-schedule-fire', s.schedules.fire.timeoutSeconds * 1000, s.schedules.fire.memoryMiB),
      );
    },
    onFailedFiring: (name, error) => {
      if (options.logLevel !== 'SILENT') console.error(`[local stack] schedule ${name}: firing failed`, error);
    },
  });

  Object.assign(process.env, {
    ...functionEnvironment(
      {
        tableName: resources.tableName,
        queueUrl: resources.queueUrl,
        lanes: resources.laneTable,
        diagnosticTasks: options.diagnosticTasks,
        deploymentKeyFile: deploymentKeyPath(options.dataDir),
        callbackQueueUrl: resources.callbackQueueUrl,
        allowLocalCallbacks: options.allowLocalCallbacks,
        scheduleTableName: resources.scheduleTableName,
        taskDataBucket: resources.taskDataBucket,
        fairShareTableName: resources.fairShareTableName,
      },
      s,
    ),
    ...schedulerEnvironment(LOCAL_SCHEDULER, s),
    [ENV.schedulerEndpoint]: scheduler.endpoint,
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
  const thread = (kind: ThreadKind, timeoutSeconds: number, memoryMiB: number, maxEnvironments: number) =>
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
  const scheduleFire = taskTypes
    ? inProcess(createScheduleFireHandler(taskTypes))
    : thread('schedule-fire', s.schedules.fire.timeoutSeconds, s.schedules.fire.memoryMiB, 2);
  fireHandler = scheduleFire.handler;
  // Each lane: its worker (its timeout, memory and retry numbers), fed by its normal queue and, through
  // pollers of their own, its high-priority queue; and one dead-letter poller per lane's dead-letter queue.
  const workers: RunningWorker[] = [];
  const mappings: EventSource[] = [];
  for (const lane of lanes) {
    const queues = resources.lanes[lane.name];
    if (!queues) throw new Error(`No queues for lane ${lane.name}`);
    const worker = await workerHandler(lane, laneEnvironment(functionEnv, lane), options, taskModuleUrl, taskTypes);
    workers.push(worker);
    const name = lane.name === DEFAULT_LANE ? 'offload-worker' : `offload-worker-${lane.name}`;
    const mapping = {
      sqs,
      handler: worker.handler,
      context: () => lambdaContext(name, lane.timeoutSeconds * 1000, lane.memoryMiB),
      timeoutMs: worker.timeoutMs,
      waitTimeSeconds: s.local.pollWaitSeconds,
      onError,
      crashInvocation: options.faults?.dropResponse,
    };
    mappings.push(
      startEventSource({
        ...mapping,
        queueUrl: queues.queueUrl,
        queueArn: queues.queueArn,
        batchSize: lane.batchSize,
        maxBatchingWindowSeconds: lane.maxBatchingWindowSeconds,
        maxConcurrency: Math.min(lane.normalConcurrency, LOCAL_MAX_POLLERS),
      }),
      startEventSource({
        ...mapping,
        queueUrl: queues.highPriorityQueueUrl,
        queueArn: queues.highPriorityQueueArn,
        batchSize: lane.highPriorityBatchSize,
        maxBatchingWindowSeconds: 0,
        maxConcurrency: Math.min(lane.highPriorityConcurrency, LOCAL_MAX_POLLERS),
      }),
      startEventSource({
        sqs,
        queueUrl: queues.deadLetterQueueUrl,
        queueArn: queues.deadLetterQueueArn,
        handler: deadLetter.handler as SqsHandler,
        context: () => lambdaContext('offload-dead-letter', s.dlq.timeoutSeconds * 1000, s.dlq.memoryMiB),
        timeoutMs: s.dlq.timeoutSeconds * 1000,
        batchSize: s.dlq.batchSize,
        maxBatchingWindowSeconds: 0,
        maxConcurrency: 1,
        waitTimeSeconds: s.local.pollWaitSeconds,
        onError,
      }),
    );
  }
  // In execution environments of its own (threads ended at its timeout, as Lambda ends them), or inline with the worker.
  const callbacks =
    options.workerIsolation === 'inline' && taskTypes
      ? inProcess(createCallbackHandler(taskTypes), s.callbacks.timeoutSeconds * 1000)
      : thread('callbacks', s.callbacks.timeoutSeconds, s.callbacks.memoryMiB, s.callbacks.maxConcurrency);
  const callbackMapping = startEventSource({
    sqs,
    queueUrl: resources.callbackQueueUrl,
    queueArn: resources.callbackQueueArn,
    handler: callbacks.handler as SqsHandler,
    context: () => lambdaContext('offload-callbacks', s.callbacks.timeoutSeconds * 1000, s.callbacks.memoryMiB),
    timeoutMs: callbacks.timeoutMs,
    batchSize: s.callbacks.batchSize,
    maxBatchingWindowSeconds: 0,
    maxConcurrency: s.callbacks.maxConcurrency,
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
    ttlDays: s.tasks.ttlDays,
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
    endpoints: {
      dynamodb: emulators.dynamodbEndpoint,
      sqs: emulators.sqsEndpoint,
      scheduler: scheduler.endpoint,
      s3: emulators.s3Endpoint,
    },
    devKey,
    get taskTypeNames() {
      return tasks.names;
    },
    get taskFiles() {
      return tasks.files;
    },
    lanes,
    async reloadTasks() {
      if (!options.reloadableTasks) throw new Error('This local stack was started without reloadableTasks.');
      const inspection = await inspect();
      if (JSON.stringify(inspection.lanes ?? {}) !== JSON.stringify(tasks.lanes ?? {})) {
        throw new Error('its lanes changed: lanes are queues and pollers, set up at start; restart offload dev.');
      }
      tasks = inspection;
      for (const fn of [api, deadLetter, callbacks, scheduleFire, ...workers]) fn.refresh();
    },
    async stop() {
      await front.stop();
      await scheduler.stop();
      recoverySchedule.stop();
      opsConsole.stop();
      await Promise.all(mappings.map((mapping) => mapping.stop()));
      await callbackMapping.stop();
      await Promise.all([
        ...workers.map((worker) => worker.stop()),
        api.stop(),
        deadLetter.stop(),
        callbacks.stop(),
        scheduleFire.stop(),
      ]);
      sqs.destroy();
      dynamodb.destroy();
      await emulators.stop();
      releaseStdout();
      running = false;
    },
  };
}

/**
 * Pollers of one local mapping at most: a provisioned lane may ask for thousands of invocations, which
 * one process on a laptop cannot hold.
 */
const LOCAL_MAX_POLLERS = 50;

interface RunningWorker {
  readonly handler: SqsHandler;
  readonly timeoutMs?: number;
  refresh(): void;
  stop(): Promise<void>;
}

/**
 * A lane's worker function as the event source mappings invoke it: in its own execution environments
 * (threads ended at the timeout), or inline. Chaos faults wrap either.
 */
async function workerHandler(
  lane: Lane,
  env: NodeJS.ProcessEnv,
  options: LocalStackOptions,
  taskModuleUrl: string,
  taskTypes: TaskTypes | undefined,
): Promise<RunningWorker> {
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
    // The handler factory reads this process's environment: the lane's, for as long as it builds.
    const saved = { ...process.env };
    Object.assign(process.env, env);
    const handler: SqsHandler = createWorkerHandler(taskTypes);
    for (const name of Object.keys(env)) if (saved[name] === undefined) delete process.env[name];
    Object.assign(process.env, saved);
    const timeoutMs = lane.timeoutSeconds * 1000;
    return {
      handler: faults ? withRecordFaults(handler) : handler,
      timeoutMs,
      refresh: () => {},
      stop: async () => {},
    };
  }
  const { module, factory } = HANDLER_FACTORIES.worker;
  const fn = new LocalFunction({
    name: lane.name === DEFAULT_LANE ? 'offload-worker' : `offload-worker-${lane.name}`,
    handlerModule: pathToFileURL(ownModulePath(module)).href,
    factory,
    taskModule: taskModuleUrl,
    timeoutMs: lane.timeoutSeconds * 1000,
    memoryMiB: lane.memoryMiB,
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

/** The functions that load the task module and may run in threads (the worker has its own setup). */
type ThreadKind = 'api' | 'dead-letter' | 'callbacks' | 'schedule-fire';

interface RunningFunction {
  readonly handler: (event: never, context: Context) => Promise<unknown>;
  /** Enforced by the event source when the function runs in this process; a thread enforces its own. */
  readonly timeoutMs?: number;
  refresh(): void;
  stop(): Promise<void>;
}

/** A function that runs in this process: built once, never reloaded. */
function inProcess(handler: (event: never, context: Context) => Promise<unknown>, timeoutMs?: number): RunningFunction {
  return { handler, timeoutMs, refresh: () => {}, stop: async () => {} };
}

/** A function whose invocations run in execution environments of its own (threads), reloadable. */
function threadFunction(
  kind: ThreadKind,
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
