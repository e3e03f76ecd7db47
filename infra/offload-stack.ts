import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { lanes as demoLanes } from '../functions/tasks/demo.js';
import { apiAuthModeFromContext } from './constructs/api-auth.js';
import { Offload } from './constructs/offload.js';
import { demoTaskModule } from './lambda-entry.js';

/**
 * This repository's app: one {@link Offload}, configured from CDK context.
 *
 * CDK context: `auth` (`jwt` | `iam`), `jwtIssuer`, `jwtAudience`, `iamPerSessionRoles` (see ApiAuth),
 * `demoTasks` (registers echo, sleep and longSleep, in the long lane), `diagnosticTasks`, `alarmEmail` (subscribed to the alarm
 * topic), `accountConcurrency` (the account's Lambda quota, when it is not settings.lambda.accountConcurrency),
 * `customerManagedKey` (`true`: one KMS key of the stack's for all data at rest, see settings.encryption),
 * `callbackSigningKeyVersions` (e.g. `2,1` during a rotation, see settings.callbacks).
 */
export class OffloadStack extends Stack {
  public readonly offload: Offload;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    // "Default" leaves the construct out of every logical id: the resources keep the ids they had
    // before the construct existed, so an update replaces neither the retained table nor the queues.
    this.offload = new Offload(this, 'Default', {
      tasks: contextFlag(this, 'demoTasks') ? demoTaskModule() : undefined,
      diagnosticTasks: contextFlag(this, 'diagnosticTasks') ?? false,
      auth: apiAuthModeFromContext(this),
      alarmEmail: this.node.tryGetContext('alarmEmail'),
      customerManagedKey: contextFlag(this, 'customerManagedKey'),
      accountConcurrency: contextNumber(this, 'accountConcurrency'),
      callbacks: { signingKeyVersions: contextVersions(this) },
      // The lanes of the demonstration module (the 15-minute `long` lane), demonstration types or not: this
      // app is the reference deployment of offload with two lanes.
      lanes: demoLanes,
    });
    const { offload } = this;

    new CfnOutput(this, 'ApiUrl', { value: offload.apiUrl, description: 'Base URL of the task API' });
    new CfnOutput(this, 'DashboardUrl', {
      value: offload.dashboardUrl,
      description: 'CloudWatch dashboard of the stack',
    });
    new CfnOutput(this, 'TableName', { value: offload.table.tableName });
    new CfnOutput(this, 'QueueUrl', { value: offload.queue.queueUrl });
    new CfnOutput(this, 'ScheduleTableName', { value: offload.scheduleTable.tableName });
    new CfnOutput(this, 'ScheduleGroupName', { value: offload.scheduleGroupName });
    new CfnOutput(this, 'TaskDataBucketName', { value: offload.taskDataBucket.bucketName });
    new CfnOutput(this, 'LaneQueueUrls', {
      value: this.toJsonString(
        Object.fromEntries(
          Object.entries(offload.lanes).map(([name, lane]) => [
            name,
            { normal: lane.queue.queueUrl, high: lane.highPriorityQueue.queueUrl },
          ]),
        ),
      ),
      description: "Every lane's queues: npm run redrive -- --lane-queues",
    });
    new CfnOutput(this, 'DeploymentKeySecretArn', {
      value: offload.deploymentKeySecret.secretArn,
      description: 'The deployment key (its ARN, not its value): npm run owner-hash -- --secret-arn',
    });
    if (offload.userPool && offload.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', { value: offload.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: offload.userPoolClient.userPoolClientId });
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

/** `-c callbackSigningKeyVersions=2,1`: the signing key versions, the current first; undefined when absent. */
function contextVersions(scope: Construct): number[] | undefined {
  const value = scope.node.tryGetContext('callbackSigningKeyVersions') as unknown;
  if (value === undefined) return undefined;
  const versions = String(value)
    .split(',')
    .map((item) => Number(item.trim()));
  if (versions.some((version) => !Number.isInteger(version) || version < 1)) {
    throw new Error(
      `Context callbackSigningKeyVersions must be whole numbers from 1, e.g. "2,1"; got "${String(value)}".`,
    );
  }
  return versions;
}

/** A boolean context value (`-c name=true` arrives as a string); undefined when absent. */
function contextFlag(scope: Construct, name: string): boolean | undefined {
  const value = scope.node.tryGetContext(name) as unknown;
  if (value === undefined) return undefined;
  if ([true, 'true'].includes(value as boolean | string)) return true;
  if ([false, 'false'].includes(value as boolean | string)) return false;
  throw new Error(`Context ${name} must be true or false, got "${String(value)}".`);
}
