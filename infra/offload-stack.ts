import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { createTaskRegistry } from '../functions/tasks/registry.js';
import { TASK_TABLE } from '../shared/task-table.js';
import { ApiAuth, apiAuthModeFromContext } from './constructs/api-auth.js';
import { DeadLetterHandler } from './constructs/dead-letter-handler.js';
import { DeploymentKey } from './constructs/deployment-key.js';
import { EncryptionKey } from './constructs/encryption-key.js';
import { OperationsDashboard } from './constructs/operations-dashboard.js';
import { RecoverySweep } from './constructs/recovery-sweep.js';
import { TaskApi } from './constructs/task-api.js';
import { TaskDataBucket } from './constructs/task-data-bucket.js';
import { TaskQueue } from './constructs/task-queue.js';
import { TaskStore } from './constructs/task-store.js';
import { TaskWorker } from './constructs/task-worker.js';
import { functionEnvironment } from './function-environment.js';
import { checkReservedConcurrency, settings } from './settings.js';
import { assertValidSettings } from './validate-settings.js';

/**
 * offload: an HTTP API records tasks in DynamoDB and enqueues them on SQS; a worker Lambda runs them;
 * a dead-letter handler fails the ones SQS gives up on.
 *
 * CDK context: `auth` (`jwt` | `iam`), `jwtIssuer`, `jwtAudience`, `iamPerSessionRoles` (see ApiAuth),
 * `demoTasks` (registers echo and sleep), `diagnosticTasks`, `alarmEmail` (subscribed to the alarm topic), `accountConcurrency` (the account's
 * Lambda quota, when it is not settings.lambda.accountConcurrency), `customerManagedKey` (`true`: one KMS
 * key of the stack's for all data at rest, see settings.encryption).
 */
export class OffloadStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    // Reservations that do not fit the account fail the deployment late and half done: refuse them here.
    checkReservedConcurrency(settings, contextNumber(this, 'accountConcurrency') ?? settings.lambda.accountConcurrency);

    const diagnosticTasks = [true, 'true'].includes(this.node.tryGetContext('diagnosticTasks'));
    const demoTasks = [true, 'true'].includes(this.node.tryGetContext('demoTasks'));
    // Settings that would lose or strand tasks fail the synth, with every reason listed.
    assertValidSettings(settings, createTaskRegistry({ demo: demoTasks, diagnostic: diagnosticTasks }));

    const customerManagedKey = contextFlag(this, 'customerManagedKey') ?? settings.encryption.customerManagedKey;
    const encryptionKey = customerManagedKey ? new EncryptionKey(this, 'EncryptionKey').key : undefined;

    const store = new TaskStore(this, 'TaskStore', { encryptionKey });
    const tasks = new TaskQueue(this, 'TaskQueue', { encryptionKey });
    const taskData = new TaskDataBucket(this, 'TaskData', { encryptionKey });

    const deploymentKey = new DeploymentKey(this, 'DeploymentKey', { encryptionKey });

    const authMode = apiAuthModeFromContext(this);
    const environment = functionEnvironment(
      {
        tableName: store.table.tableName,
        queueUrl: tasks.queue.queueUrl,
        diagnosticTasks,
        demoTasks,
        deploymentKeySecretArn: deploymentKey.secret.secretArn,
        taskDataBucket: taskData.bucket.bucketName,
      },
      {
        ...settings,
        auth: { ...settings.auth, iamPerSessionRoles: authMode.kind === 'iam' ? [...authMode.perSessionRoles] : [] },
      },
    );

    const auth = new ApiAuth(this, 'ApiAuth', { mode: authMode });
    const api = new TaskApi(this, 'TaskApi', {
      store,
      queue: tasks.queue,
      authorizer: auth.authorizer,
      authorizationScopes: auth.authorizationScopes,
      environment,
      encryptionKey,
    });
    // Only the API hashes owners for its logs; the other functions never read the key.
    deploymentKey.grantRead(api.handler);

    const worker = new TaskWorker(this, 'TaskWorker', { store, queue: tasks.queue, environment, encryptionKey });
    // The API stores large payloads, checks uploads and signs URLs; the worker reads payloads, writes results and files.
    taskData.grantReadWriteDelete(api.handler);
    taskData.grantReadWriteDelete(worker.handler);

    const deadLetterHandler = new DeadLetterHandler(this, 'DeadLetterHandler', {
      store,
      deadLetterQueue: tasks.deadLetterQueue,
      environment,
      encryptionKey,
    });

    const recoverySweep = new RecoverySweep(this, 'RecoverySweep', {
      store,
      queue: tasks.queue,
      environment,
      encryptionKey,
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
      alarmEmail: this.node.tryGetContext('alarmEmail'),
    });

    new CfnOutput(this, 'ApiUrl', { value: api.url, description: 'Base URL of the task API' });
    new CfnOutput(this, 'DashboardUrl', { value: operations.url, description: 'CloudWatch dashboard of the stack' });
    new CfnOutput(this, 'TableName', { value: store.table.tableName });
    new CfnOutput(this, 'QueueUrl', { value: tasks.queue.queueUrl });
    new CfnOutput(this, 'TaskDataBucketName', { value: taskData.bucket.bucketName });
    new CfnOutput(this, 'DeploymentKeySecretArn', {
      value: deploymentKey.secret.secretArn,
      description: 'The deployment key (its ARN, not its value): npm run owner-hash -- --secret-arn',
    });
    if (auth.userPool && auth.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', { value: auth.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: auth.userPoolClient.userPoolClientId });
    }
  }
}

/** A whole-number context value (`-c name=N` arrives as a string); undefined when absent. */
function contextNumber(scope: Construct, name: string): number | undefined {
  const value = scope.node.tryGetContext(name) as unknown;
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0)
    throw new Error(`Context ${name} must be a whole number, got "${value}".`);
  return number;
}

/** A boolean context value (`-c name=true` arrives as a string); undefined when absent. */
function contextFlag(scope: Construct, name: string): boolean | undefined {
  const value = scope.node.tryGetContext(name) as unknown;
  if (value === undefined) return undefined;
  if ([true, 'true'].includes(value as boolean | string)) return true;
  if ([false, 'false'].includes(value as boolean | string)) return false;
  throw new Error(`Context ${name} must be true or false, got "${String(value)}".`);
}
