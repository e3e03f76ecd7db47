import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import type { UserPool, UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type Grant, Grant as IamGrant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { API_ROUTES, PUBLIC_ROUTES } from '../../shared/api-routes.js';
import { ConfigError } from '../../shared/errors.js';
import { DEFAULT_LANE, type Lanes } from '../../shared/lanes.js';
import { TASK_TABLE } from '../../shared/task-table.js';
import { functionEnvironment, laneEnvironment } from '../function-environment.js';
import { type Lane, lanesOf, laneTable } from '../lanes.js';
import {
  checkReservedConcurrency,
  settings as defaultSettings,
  type Settings,
  type SettingsOverrides,
  withOverrides,
} from '../settings.js';
import { loadTaskLanesSync, loadTaskTypesSync, resolveTaskModule } from '../task-module.js';
import { assertValidSettings } from '../validate-settings.js';
import { ApiAuth, type ApiAuthMode } from './api-auth.js';
import { CallbackDelivery } from './callback-delivery.js';
import { DeadLetterHandler } from './dead-letter-handler.js';
import { DeploymentKey } from './deployment-key.js';
import { EncryptionKey, grantSendMessage } from './encryption-key.js';
import { FairShareTable } from './fair-share-table.js';
import { LaneOperations } from './lane-operations.js';
import { OperationsDashboard } from './operations-dashboard.js';
import { RecoverySweep } from './recovery-sweep.js';
import { ScheduleStore } from './schedule-store.js';
import { TaskApi } from './task-api.js';
import { TaskDataBucket } from './task-data-bucket.js';
import { type LaneResources, TaskLane } from './task-lane.js';
import { TaskQueues } from './task-queues.js';
import { TaskScheduler } from './task-scheduler.js';
import { TaskTable } from './task-table.js';
import { TaskWorker } from './task-worker.js';

export interface OffloadProps {
  /**
   * Path of the task module (TypeScript or JavaScript), absolute or relative to the directory `cdk`
   * runs in: a module whose export `taskTypes` maps names to `defineTask(...)` results. It is bundled
   * into the API (which checks payloads against it), the worker (which runs it) and the dead-letter
   * handler, and loaded once at synth to check each task type against the settings.
   * @default none: the API accepts no task type (the diagnostic ones aside)
   */
  readonly tasks?: string;
  /**
   * How callers authenticate; the task owner comes from the caller (JWT `sub`, or the IAM identity).
   * @default a Cognito user pool made by the construct (administrator-created users, TOTP MFA)
   */
  readonly auth?: ApiAuthMode;
  /**
   * Registers the diagnostic task types (fail, flaky, crash, ledger) that the e2e suite runs against a
   * deployment. Never in production: they fail and crash on purpose.
   * @default false
   */
  readonly diagnosticTasks?: boolean;
  /**
   * Address subscribed to the alarm topic (it must confirm the subscription).
   * @default no subscription
   */
  readonly alarmEmail?: string;
  /**
   * One customer-managed KMS key, made by the construct, for the table, queues, alarm topic, log groups
   * and deployment key ($1 a month plus requests), instead of the AWS managed keys.
   * @default false
   */
  readonly customerManagedKey?: boolean;
  /**
   * The account's Lambda concurrency quota in the region: the functions' reservations must fit in it,
   * leaving the 100 Lambda keeps unreserved.
   * @default 1000
   */
  readonly accountConcurrency?: number;
  /**
   * Lanes: each besides `default` is a queue, a high-priority queue, a dead-letter queue and a worker of its
   * own, for the task types that name it, e.g. `{ long: { timeoutSeconds: 900, memoryMiB: 4096 } }`. A
   * lane's fields left out are the default lane's (`worker`); `default` takes `highPriorityConcurrency`
   * and provisioned pollers. Merged field by field over the task module's own `lanes` export, if any.
   * @default the task module's lanes; without them the default lane alone
   */
  readonly lanes?: Lanes;
  /** The HTTP API and its Lambda. @default see `defaultSettings.api` */
  readonly api?: SettingsOverrides['api'];
  /** The worker Lambda and its event source mapping. @default see `defaultSettings.worker` */
  readonly worker?: SettingsOverrides['worker'];
  /** The task queue and its dead-letter queue. @default see `defaultSettings.queue` */
  readonly queue?: SettingsOverrides['queue'];
  /** Attempts, retry backoff, retention, cancel checks, lease grace, result size. @default see `defaultSettings.tasks` */
  readonly lifecycle?: SettingsOverrides['tasks'];
  /** The task table's throughput ceilings and point-in-time recovery. @default see `defaultSettings.store` */
  readonly store?: SettingsOverrides['store'];
  /** The dead-letter handler and its mapping. @default see `defaultSettings.dlq` */
  readonly dlq?: SettingsOverrides['dlq'];
  /** The recovery sweep. @default see `defaultSettings.recovery` */
  readonly recovery?: SettingsOverrides['recovery'];
  /** Log level and alarm thresholds. @default see `defaultSettings.observability` */
  readonly observability?: SettingsOverrides['observability'];
  /**
   * Completion callbacks: delivery function, retries, signing key versions (a rotation lists the new
   * version first, then the old one). @default see `defaultSettings.callbacks`
   */
  readonly callbacks?: SettingsOverrides['callbacks'];
  /** Schedules and far-off `runAt`: limits, Scheduler's retries, the fire function. @default see `defaultSettings.schedules` */
  readonly schedules?: SettingsOverrides['schedules'];
  /**
   * The task data bucket (claim check): the inline threshold, the largest object, URL lifetimes, artifacts.
   * @default see `defaultSettings.taskData`
   */
  readonly taskData?: SettingsOverrides['taskData'];
  /**
   * Fair share under load: fair queues, a per-owner concurrency limit, a per-owner submit rate limit.
   * @default see `defaultSettings.fairness`: fair queues on, both limits off
   */
  readonly fairness?: SettingsOverrides['fairness'];
}

/**
 * offload in one construct: an HTTP API that records tasks in DynamoDB and enqueues them on SQS, a
 * worker Lambda that runs them (the task module's code), a dead-letter handler and a recovery sweep
 * that end or revive the ones SQS gives up on or loses, a dashboard and alarms.
 *
 * ```ts
 * const offload = new Offload(this, 'Offload', { tasks: fileURLToPath(new URL('./tasks.ts', import.meta.url)) });
 * new CfnOutput(this, 'ApiUrl', { value: offload.apiUrl });
 * ```
 *
 * Every setting is checked at synth (Lambda and SQS limits, and settings that together would lose or
 * strand tasks), with one error listing every problem.
 */
export class Offload extends Construct {
  /** The settings in force: the defaults with the props applied. */
  public readonly settings: Settings;
  /** The task type names the deployment accepts. */
  public readonly taskTypeNames: readonly string[];
  /** Base URL of the task API, ending in `/`. */
  public readonly apiUrl: string;
  public readonly httpApi: HttpApi;
  public readonly table: TableV2;
  /** The default lane's task queue. */
  public readonly queue: Queue;
  /** The default lane's high-priority queue. */
  public readonly highPriorityQueue: Queue;
  /** The default lane's dead-letter queue. */
  public readonly deadLetterQueue: Queue;
  /** The function that runs the default lane's tasks. */
  public readonly worker: LambdaFunction;
  /** Every lane's queues and worker by lane name, the default lane included. */
  public readonly lanes: Readonly<Record<string, LaneResources>>;
  /** The function behind the HTTP API. */
  public readonly apiFunction: LambdaFunction;
  /** Payloads, results and files too large for a task's item (the claim check). */
  public readonly taskDataBucket: Bucket;
  /** The schedule table (schedules' records) and the deployment's Scheduler group (their timing). */
  public readonly scheduleTable: TableV2;
  public readonly scheduleGroupName: string;
  /** The function that delivers completion callbacks, and its queue. */
  public readonly callbackFunction: LambdaFunction;
  public readonly callbackQueue: Queue;
  public readonly dashboard: Dashboard;
  /** The dashboard in the CloudWatch console. */
  public readonly dashboardUrl: string;
  /** Every alarm of the construct publishes here. */
  public readonly alarmTopic: Topic;
  /** The deployment key (owner hashes): its secret, never its value. */
  public readonly deploymentKeySecret: Secret;
  /** The per-owner limits' state, when a limit is on (settings.fairness, a type's `maxRunningPerOwner`). */
  public readonly fairShareTable?: TableV2;
  /** The customer-managed key, when `customerManagedKey` is on. */
  public readonly encryptionKey?: IKey;
  /** The user pool, under the default auth. */
  public readonly userPool?: UserPool;
  public readonly userPoolClient?: UserPoolClient;
  /** How callers authenticate. */
  public readonly auth: ApiAuthMode;

  constructor(scope: Construct, id: string, props: OffloadProps = {}) {
    super(scope, id);
    this.auth = props.auth ?? { kind: 'cognito' };
    const taskModule = props.tasks === undefined ? undefined : resolveTaskModule(props.tasks);
    // The task module's lanes first, then the props': a deployment tunes a lane without touching the module.
    const moduleLanes = taskModule === undefined ? undefined : loadTaskLanesSync(taskModule);
    const settings = withOverrides(withOverrides(defaultSettings, { lanes: moduleLanes }), {
      lanes: props.lanes,
      api: props.api,
      worker: props.worker,
      queue: props.queue,
      tasks: props.lifecycle,
      store: props.store,
      dlq: props.dlq,
      recovery: props.recovery,
      observability: props.observability,
      callbacks: props.callbacks,
      schedules: props.schedules,
      taskData: props.taskData,
      fairness: props.fairness,
      auth:
        this.auth.kind === 'iam'
          ? { iamPerSessionRoles: [...this.auth.perSessionRoles] }
          : { cognitoTokenMinutes: this.auth.kind === 'cognito' ? this.auth.tokenMinutes : undefined },
      encryption: props.customerManagedKey === undefined ? undefined : { customerManagedKey: props.customerManagedKey },
      lambda: props.accountConcurrency === undefined ? undefined : { accountConcurrency: props.accountConcurrency },
    });
    this.settings = settings;
    if (props.worker?.maxConcurrency !== undefined && props.lanes?.[DEFAULT_LANE]?.maximumPollers !== undefined) {
      throw new ConfigError(
        'worker.maxConcurrency and lanes.default.maximumPollers: provisioned mode excludes maxConcurrency; choose one.',
      );
    }

    const registry = createTaskRegistry({
      tasks: taskModule === undefined ? undefined : loadTaskTypesSync(taskModule),
      diagnostic: props.diagnosticTasks ?? false,
    });
    this.taskTypeNames = [...registry.keys()];
    // Reservations that do not fit the account fail the deployment late and half done: refuse them here.
    checkReservedConcurrency(settings);
    // Settings that would lose or strand tasks fail the synth, with every reason listed.
    assertValidSettings(settings, registry);

    const encryptionKey = settings.encryption.customerManagedKey
      ? new EncryptionKey(this, 'EncryptionKey').key
      : undefined;
    this.encryptionKey = encryptionKey;

    // The construct ids predate the class names (TaskTable, TaskQueues): they make the logical ids of the
    // table and queues, and a changed id would make CloudFormation replace the retained table.
    const store = new TaskTable(this, 'TaskStore', { encryptionKey, settings });
    const [defaultLane, ...otherLanes] = lanesOf(settings) as [Lane, ...Lane[]];
    const tasks = new TaskQueues(this, 'TaskQueue', { encryptionKey, settings, lane: defaultLane });
    // Each other lane under an id of its own; the default lane keeps the ids it had before lanes.
    const lanes = otherLanes.map((lane) => new TaskLane(this, `Lane-${lane.name}`, { lane, settings, encryptionKey }));
    const queuesOf = new Map([
      [defaultLane.name, tasks],
      ...lanes.map((lane) => [lane.lane.name, lane.queues] as const),
    ]);
    const otherQueues = [
      tasks.highPriorityQueue,
      ...lanes.flatMap(({ queues }) => [queues.queue, queues.highPriorityQueue]),
    ];
    const scheduleStore = new ScheduleStore(this, 'ScheduleStore', { encryptionKey, settings });
    const taskData = new TaskDataBucket(this, 'TaskData', { encryptionKey, settings });
    this.taskDataBucket = taskData.bucket;
    this.scheduleTable = scheduleStore.table;
    const deploymentKey = new DeploymentKey(this, 'DeploymentKey', { encryptionKey });
    this.deploymentKeySecret = deploymentKey.secret;
    const callbacks = new CallbackDelivery(this, 'Callbacks', {
      store,
      deploymentKey,
      encryptionKey,
      taskModule,
      settings,
    });
    const fairShare = FairShareTable.isNeeded(settings, registry)
      ? new FairShareTable(this, 'FairShare', { encryptionKey, settings })
      : undefined;
    this.fairShareTable = fairShare?.table;

    const environment = functionEnvironment(
      {
        tableName: store.table.tableName,
        queueUrl: tasks.queue.queueUrl,
        diagnosticTasks: props.diagnosticTasks,
        deploymentKeySecretArn: deploymentKey.secret.secretArn,
        callbackQueueUrl: callbacks.queue.queueUrl,
        scheduleTableName: scheduleStore.table.tableName,
        taskDataBucket: taskData.bucket.bucketName,
        lanes: laneTable([defaultLane, ...otherLanes], (lane) => {
          const queues = queuesOf.get(lane.name) ?? tasks;
          return { normal: queues.queue.queueUrl, high: queues.highPriorityQueue.queueUrl };
        }),
        fairShareTableName: fairShare?.table.tableName,
      },
      settings,
    );
    const scheduler = new TaskScheduler(this, 'TaskScheduler', {
      store,
      schedules: scheduleStore,
      queue: tasks.queue,
      environment,
      encryptionKey,
      taskModule,
      settings,
    });
    this.scheduleGroupName = scheduler.group.scheduleGroupName;

    const auth = new ApiAuth(this, 'ApiAuth', { mode: this.auth, settings });
    this.userPool = auth.userPool;
    this.userPoolClient = auth.userPoolClient;
    const api = new TaskApi(this, 'TaskApi', {
      store,
      queue: tasks.queue,
      additionalQueues: otherQueues,
      authorizer: auth.authorizer,
      authorizationScopes: auth.authorizationScopes,
      environment: { ...environment, ...scheduler.apiEnvironment() },
      encryptionKey,
      taskModule,
      settings,
    });
    // Schedules: the records in their table, the timing in the deployment's Scheduler group.
    scheduleStore.grantItemActions(
      api.handler,
      'dynamodb:PutItem',
      'dynamodb:GetItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    );
    scheduler.grantManageSchedules(api.handler);
    // The API hashes owners for its logs and hands out callback secrets; the delivery function signs with them.
    deploymentKey.grantRead(api.handler);
    // A firing gives its task the owner's group (fair queues, per-owner limits), keyed by the deployment key.
    deploymentKey.grantRead(scheduler.handler);

    const worker = new TaskWorker(this, 'TaskWorker', {
      store,
      queue: tasks.queue,
      highPriorityQueue: tasks.highPriorityQueue,
      lane: defaultLane,
      environment,
      encryptionKey,
      taskModule,
      settings,
    });
    const laneWorkers = lanes.map((lane) =>
      lane.addWorker({ store, environment: laneEnvironment(environment, lane.lane), taskModule }),
    );
    if (fairShare && settings.fairness.submitRate.enabled) fairShare.grantRateWindows(api.handler);
    if (fairShare && FairShareTable.limitsConcurrency(settings, registry)) {
      for (const fn of [worker.handler, ...laneWorkers]) {
        fairShare.grantSlots(fn);
        // A message waiting for a slot is replaced by a fresh one, sent after the wait; a release wakes the
        // owner's oldest waiter, whichever lane and priority it waits in.
        grantSendMessage(fn, [tasks.queue, ...otherQueues]);
      }
    }
    const deadLetterHandler = new DeadLetterHandler(this, 'DeadLetterHandler', {
      store,
      deadLetterQueue: tasks.deadLetterQueue,
      additionalDeadLetterQueues: lanes.map(({ queues }) => queues.deadLetterQueue),
      environment,
      encryptionKey,
      taskModule,
      settings,
    });
    const recoverySweep = new RecoverySweep(this, 'RecoverySweep', {
      store,
      queue: tasks.queue,
      additionalQueues: otherQueues,
      environment,
      encryptionKey,
      settings,
    });

    // Payloads, results and files too large for an item: the API stores and presigns, the worker reads and writes.
    taskData.grantReadWriteDelete(api.handler);
    for (const fn of [worker.handler, ...laneWorkers]) taskData.grantReadWriteDelete(fn);
    // A firing submits its task to the task's own lane, at its own priority.
    grantSendMessage(scheduler.handler, otherQueues);
    // Every path that ends a task queues its callback delivery; the sweep re-sends lost ones.
    for (const fn of [api.handler, worker.handler, ...laneWorkers, deadLetterHandler.handler, recoverySweep.handler]) {
      callbacks.grantSend(fn);
    }
    this.callbackFunction = callbacks.createFunction(environment);
    // A callback's event links a result or files kept in the bucket, signed by the delivery function.
    taskData.grantRead(this.callbackFunction);

    const operations = new OperationsDashboard(this, 'Operations', {
      httpApi: api.httpApi,
      queue: tasks.queue,
      deadLetterQueue: tasks.deadLetterQueue,
      worker: worker.handler,
      deadLetterHandler: deadLetterHandler.handler,
      recoverySweep: recoverySweep.handler,
      tableName: store.table.tableName,
      ownerIndexName: TASK_TABLE.ownerIndex.name,
      accessLogs: api.accessLogs,
      encryptionKey,
      alarmEmail: props.alarmEmail,
      // The default lane's oldest-message alarm follows its own timeout, as every lane's does.
      thresholds: { ...settings.observability.alarms, oldestMessageAgeSeconds: defaultLane.oldestMessageAlarmSeconds },
      settings,
    });
    const defaultLaneResources: LaneResources = {
      lane: defaultLane,
      queue: tasks.queue,
      highPriorityQueue: tasks.highPriorityQueue,
      deadLetterQueue: tasks.deadLetterQueue,
      worker: worker.handler,
    };
    this.lanes = Object.fromEntries([
      [defaultLane.name, defaultLaneResources],
      ...lanes.map((lane) => [lane.lane.name, lane.resources] as const),
    ]);
    new LaneOperations(this, 'LaneOperations', {
      lanes: Object.values(this.lanes),
      alarmTopic: operations.alarmTopic,
      dashboard: operations.dashboard,
      settings,
    });

    callbacks.addToOperations(operations.dashboard, operations.alarmTopic);
    scheduler.addAlarms(operations.alarmTopic);
    this.callbackQueue = callbacks.queue;

    this.apiUrl = api.url;
    this.httpApi = api.httpApi;
    this.apiFunction = api.handler;
    this.table = store.table;
    this.queue = tasks.queue;
    this.highPriorityQueue = tasks.highPriorityQueue;
    this.deadLetterQueue = tasks.deadLetterQueue;
    this.worker = worker.handler;
    this.dashboard = operations.dashboard;
    this.dashboardUrl = operations.url;
    this.alarmTopic = operations.alarmTopic;
  }

  /**
   * Lets `grantee` call the task routes (submit, list, get, cancel) of an API with `auth: { kind: 'iam' }`:
   * `execute-api:Invoke` on those routes only. Under a JWT authorizer callers present tokens instead,
   * so this throws.
   */
  public grantSubmit(grantee: IGrantable): Grant {
    if (this.auth.kind !== 'iam') {
      throw new Error(
        `grantSubmit needs auth kind "iam"; this API uses "${this.auth.kind}", whose callers present a token instead.`,
      );
    }
    const taskRoutes = Object.values(API_ROUTES).filter((routeKey) => !PUBLIC_ROUTES.has(routeKey));
    return IamGrant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: taskRoutes.map((routeKey) => {
        const [method = '', path = ''] = routeKey.split(' ');
        // A path parameter is one segment in the route, any characters in the ARN.
        return this.httpApi.arnForExecuteApi(method, path.replace(/\{\w+\}/g, '*'));
      }),
    });
  }
}
