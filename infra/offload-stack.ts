import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { createTaskRegistry } from '../functions/tasks/registry.js';
import { ApiAuth, apiAuthModeFromContext } from './constructs/api-auth.js';
import { DeadLetterHandler } from './constructs/dead-letter-handler.js';
import { OperationsDashboard } from './constructs/operations-dashboard.js';
import { RecoverySweep } from './constructs/recovery-sweep.js';
import { TaskApi } from './constructs/task-api.js';
import { TaskQueue } from './constructs/task-queue.js';
import { TaskStore } from './constructs/task-store.js';
import { TaskWorker } from './constructs/task-worker.js';
import { functionEnvironment } from './function-environment.js';
import { settings } from './settings.js';
import { assertValidSettings } from './validate-settings.js';

/**
 * offload: an HTTP API records tasks in DynamoDB and enqueues them on SQS; a worker Lambda runs them;
 * a dead-letter handler fails the ones SQS gives up on.
 *
 * CDK context: `auth` (`jwt` | `iam`), `jwtIssuer`, `jwtAudience`, `iamPerSessionRoles` (see ApiAuth),
 * `diagnosticTasks`, `alarmEmail` (subscribed to the alarm topic).
 */
export class OffloadStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const diagnosticTasks = [true, 'true'].includes(this.node.tryGetContext('diagnosticTasks'));
    // Settings that would lose or strand tasks fail the synth, with every reason listed.
    assertValidSettings(settings, createTaskRegistry({ diagnostic: diagnosticTasks }));

    const store = new TaskStore(this, 'TaskStore');
    const tasks = new TaskQueue(this, 'TaskQueue');

    const authMode = apiAuthModeFromContext(this);
    const environment = functionEnvironment(
      { tableName: store.table.tableName, queueUrl: tasks.queue.queueUrl, diagnosticTasks },
      {
        ...settings,
        auth: { iamPerSessionRoles: authMode.kind === 'iam' ? [...authMode.perSessionRoles] : [] },
      },
    );

    const auth = new ApiAuth(this, 'ApiAuth', { mode: authMode });
    const api = new TaskApi(this, 'TaskApi', { store, queue: tasks.queue, authorizer: auth.authorizer, environment });

    const worker = new TaskWorker(this, 'TaskWorker', { store, queue: tasks.queue, environment });

    new DeadLetterHandler(this, 'DeadLetterHandler', {
      store,
      deadLetterQueue: tasks.deadLetterQueue,
      environment,
    });

    new RecoverySweep(this, 'RecoverySweep', { store, queue: tasks.queue, environment });

    const operations = new OperationsDashboard(this, 'Operations', {
      httpApi: api.httpApi,
      queue: tasks.queue,
      deadLetterQueue: tasks.deadLetterQueue,
      worker: worker.handler,
      alarmEmail: this.node.tryGetContext('alarmEmail'),
    });

    new CfnOutput(this, 'ApiUrl', { value: api.url, description: 'Base URL of the task API' });
    new CfnOutput(this, 'DashboardUrl', { value: operations.url, description: 'CloudWatch dashboard of the stack' });
    new CfnOutput(this, 'TableName', { value: store.table.tableName });
    new CfnOutput(this, 'QueueUrl', { value: tasks.queue.queueUrl });
    if (auth.userPool && auth.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', { value: auth.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: auth.userPoolClient.userPoolClientId });
    }
  }
}
