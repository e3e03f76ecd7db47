import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import type { UserPool, UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type Grant, Grant as IamGrant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { createTaskRegistry } from '../../functions/tasks/registry.js';
import { API_ROUTES, PUBLIC_ROUTES } from '../../shared/api-routes.js';
import { TASK_TABLE } from '../../shared/task-table.js';
import { functionEnvironment } from '../function-environment.js';
import {
  checkReservedConcurrency,
  settings as defaultSettings,
  type Settings,
  type SettingsOverrides,
  withOverrides,
} from '../settings.js';
import { loadTaskTypesSync, resolveTaskModule } from '../task-module.js';
import { assertValidSettings } from '../validate-settings.js';
import { ApiAuth, type ApiAuthMode } from './api-auth.js';
import { DeadLetterHandler } from './dead-letter-handler.js';
import { DeploymentKey } from './deployment-key.js';
import { EncryptionKey } from './encryption-key.js';
import { FairShareTable } from './fair-share-table.js';
import { OperationsDashboard } from './operations-dashboard.js';
import { RecoverySweep } from './recovery-sweep.js';
import { TaskApi } from './task-api.js';
import { TaskQueues } from './task-queues.js';
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
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  /** The function that runs tasks. */
  public readonly worker: LambdaFunction;
  /** The function behind the HTTP API. */
  public readonly apiFunction: LambdaFunction;
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
    const settings = withOverrides(defaultSettings, {
      api: props.api,
      worker: props.worker,
      queue: props.queue,
      tasks: props.lifecycle,
      store: props.store,
      dlq: props.dlq,
      recovery: props.recovery,
      observability: props.observability,
      fairness: props.fairness,
      auth:
        this.auth.kind === 'iam'
          ? { iamPerSessionRoles: [...this.auth.perSessionRoles] }
          : { cognitoTokenMinutes: this.auth.kind === 'cognito' ? this.auth.tokenMinutes : undefined },
      encryption: props.customerManagedKey === undefined ? undefined : { customerManagedKey: props.customerManagedKey },
      lambda: props.accountConcurrency === undefined ? undefined : { accountConcurrency: props.accountConcurrency },
    });
    this.settings = settings;

    const taskModule = props.tasks === undefined ? undefined : resolveTaskModule(props.tasks);
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
    const tasks = new TaskQueues(this, 'TaskQueue', { encryptionKey, settings });
    const deploymentKey = new DeploymentKey(this, 'DeploymentKey', { encryptionKey });
    this.deploymentKeySecret = deploymentKey.secret;
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
        fairShareTableName: fairShare?.table.tableName,
      },
      settings,
    );

    const auth = new ApiAuth(this, 'ApiAuth', { mode: this.auth, settings });
    this.userPool = auth.userPool;
    this.userPoolClient = auth.userPoolClient;
    const api = new TaskApi(this, 'TaskApi', {
      store,
      queue: tasks.queue,
      authorizer: auth.authorizer,
      authorizationScopes: auth.authorizationScopes,
      environment,
      encryptionKey,
      taskModule,
      settings,
    });
    // Only the API hashes owners for its logs; the other functions never read the key.
    deploymentKey.grantRead(api.handler);

    const worker = new TaskWorker(this, 'TaskWorker', {
      store,
      queue: tasks.queue,
      environment,
      encryptionKey,
      taskModule,
      settings,
    });
    if (fairShare && settings.fairness.submitRate.enabled) fairShare.grantRateWindows(api.handler);
    if (fairShare && FairShareTable.limitsConcurrency(settings, registry)) {
      fairShare.grantSlots(worker.handler);
      // A message waiting for a slot is replaced by a fresh one, sent after the wait.
      tasks.queue.grant(worker.handler, 'sqs:SendMessage');
      tasks.queue.encryptionMasterKey?.grant(worker.handler, 'kms:GenerateDataKey');
    }
    const deadLetterHandler = new DeadLetterHandler(this, 'DeadLetterHandler', {
      store,
      deadLetterQueue: tasks.deadLetterQueue,
      environment,
      encryptionKey,
      taskModule,
      settings,
    });
    const recoverySweep = new RecoverySweep(this, 'RecoverySweep', {
      store,
      queue: tasks.queue,
      environment,
      encryptionKey,
      settings,
    });

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
      settings,
    });

    this.apiUrl = api.url;
    this.httpApi = api.httpApi;
    this.apiFunction = api.handler;
    this.table = store.table;
    this.queue = tasks.queue;
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
