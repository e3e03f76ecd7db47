import { ENV } from '../shared/env-names.js';
import type { LaneTable } from '../shared/lanes.js';
import type { Lane } from './lanes.js';
import { settings as defaults, type Settings } from './settings.js';

export interface FunctionResources {
  readonly tableName: string;
  readonly queueUrl: string;
  /** Registers the diagnostic task types (`diagnosticTaskTypes` in functions/tasks/registry.ts) the tests use. */
  readonly diagnosticTasks?: boolean;
  /** The Secrets Manager secret holding the deployment key (in AWS): its ARN, never its value. */
  readonly deploymentKeySecretArn?: string;
  /** The file holding the deployment key (local stack, tests). */
  readonly deploymentKeyFile?: string;
  /** The completion callbacks' delivery queue. */
  readonly callbackQueueUrl?: string;
  /** Local stack with --allow-local-callbacks only: http and loopback callback URLs. Never in AWS. */
  readonly allowLocalCallbacks?: boolean;
  /** The schedule table (API and fire function). */
  readonly scheduleTableName?: string;
  /** The task data bucket: payloads, results and files too large for a task's item. @default none: all inline */
  readonly taskDataBucket?: string;
  /**
   * Every lane's queues and sweep stale time (infra/lanes.ts `laneTable`).
   * @default unset: the functions know the default lane alone, on `queueUrl`
   */
  readonly lanes?: LaneTable;
  /** The fair-share table, when a per-owner limit (settings.fairness) or a task type's own limit is on. */
  readonly fairShareTableName?: string;
}

/** Where the API puts schedules and what they invoke: given to the API alone (see schedulerEnvironment). */
export interface SchedulerResources {
  readonly groupName: string;
  readonly targetArn: string;
  readonly roleArn: string;
  readonly deadLetterQueueArn: string;
}

/** The environment every Lambda gets, in AWS (CDK) and locally: built once, here. */
export function functionEnvironment(resources: FunctionResources, s: Settings = defaults): Record<string, string> {
  return {
    [ENV.tableName]: resources.tableName,
    [ENV.queueUrl]: resources.queueUrl,
    [ENV.maxBodyBytes]: String(s.api.maxBodyBytes),
    [ENV.retryAfterSeconds]: String(s.api.retryAfterSeconds),
    [ENV.defaultMaxAttempts]: String(s.tasks.defaultMaxAttempts),
    [ENV.retryBaseDelaySeconds]: String(s.tasks.retryBaseDelaySeconds),
    [ENV.retryMaxDelaySeconds]: String(s.tasks.retryMaxDelaySeconds),
    [ENV.ttlDays]: String(s.tasks.ttlDays),
    [ENV.maxResultBytes]: String(s.tasks.maxResultBytes),
    [ENV.cancelCheckSeconds]: String(s.tasks.cancelCheckSeconds),
    [ENV.staleAfterSeconds]: String(s.recovery.staleAfterSeconds),
    [ENV.leaseGraceSeconds]: String(s.tasks.leaseGraceSeconds),
    // Queue URLs are CDK tokens at synth: inside a JSON string they resolve to the deployed URLs.
    ...(resources.lanes && { [ENV.lanes]: JSON.stringify(resources.lanes) }),
    [ENV.diagnosticTasks]: resources.diagnosticTasks ? 'true' : 'false',
    ...(resources.deploymentKeySecretArn && { [ENV.deploymentKeySecretArn]: resources.deploymentKeySecretArn }),
    ...(resources.deploymentKeyFile && { [ENV.deploymentKeyFile]: resources.deploymentKeyFile }),
    ...(resources.callbackQueueUrl && { [ENV.callbackQueueUrl]: resources.callbackQueueUrl }),
    [ENV.callbackRequestTimeoutSeconds]: String(s.callbacks.requestTimeoutSeconds),
    [ENV.callbackMaxResponseBytes]: String(s.callbacks.maxResponseBytes),
    [ENV.callbackRetryBaseDelaySeconds]: String(s.callbacks.retryBaseDelaySeconds),
    [ENV.callbackRetryMaxDelaySeconds]: String(s.callbacks.retryMaxDelaySeconds),
    [ENV.callbackDeliveryWindowSeconds]: String(s.callbacks.deliveryWindowHours * 3600),
    [ENV.callbackSigningKeyVersions]: s.callbacks.signingKeyVersions.join(','),
    ...(resources.allowLocalCallbacks && { [ENV.allowLocalCallbacks]: 'true' }),
    ...(resources.scheduleTableName && { [ENV.scheduleTableName]: resources.scheduleTableName }),
    [ENV.maxSchedulesPerOwner]: String(s.schedules.maxPerOwner),
    [ENV.maxRunAtDays]: String(s.schedules.maxRunAtDays),
    [ENV.runAtQueueDelayMaxSeconds]: String(s.schedules.runAtQueueDelayMaxSeconds),
    ...fairnessEnvironment(resources, s),
    [ENV.logLevel]: s.observability.logLevel,
    // Unset rather than empty when no role is listed, like the other optional variables.
    ...(s.auth.iamPerSessionRoles.length > 0 && { [ENV.iamPerSessionRoles]: s.auth.iamPerSessionRoles.join(',') }),
    ...(resources.taskDataBucket && taskDataEnvironment(resources.taskDataBucket, s)),
  };
}

function taskDataEnvironment(bucket: string, s: Settings): Record<string, string> {
  return {
    [ENV.taskDataBucket]: bucket,
    [ENV.taskDataInlineMaxBytes]: String(s.taskData.inlineMaxBytes),
    [ENV.taskDataMaxObjectBytes]: String(s.taskData.maxObjectBytes),
    [ENV.taskDataUploadUrlSeconds]: String(s.taskData.uploadUrlSeconds),
    [ENV.taskDataDownloadUrlSeconds]: String(s.taskData.downloadUrlSeconds),
    [ENV.taskDataMaxArtifacts]: String(s.taskData.maxArtifacts),
  };
}

/**
 * The API's extra variables: the schedule group and the fire target. Apart from the shared environment
 * because the fire function cannot be told its own ARN (CloudFormation would see a cycle).
 */
export function schedulerEnvironment(scheduler: SchedulerResources, s: Settings = defaults): Record<string, string> {
  return {
    [ENV.scheduleGroupName]: scheduler.groupName,
    [ENV.scheduleTargetArn]: scheduler.targetArn,
    [ENV.scheduleRoleArn]: scheduler.roleArn,
    [ENV.scheduleDeadLetterQueueArn]: scheduler.deadLetterQueueArn,
    [ENV.scheduleRetryAttempts]: String(s.schedules.retryAttempts),
    [ENV.scheduleMaxEventAgeSeconds]: String(s.schedules.maxEventAgeSeconds),
  };
}

/** settings.fairness for the functions: each limit only when it is on (and its table exists). */
function fairnessEnvironment(resources: FunctionResources, s: Settings): Record<string, string> {
  const { fairQueues, ownerConcurrency, submitRate } = s.fairness;
  const table = resources.fairShareTableName;
  return {
    [ENV.fairQueues]: String(fairQueues),
    ...(table && {
      [ENV.fairShareTableName]: table,
      [ENV.ownerWaitMaxSeconds]: String(ownerConcurrency.maxWaitSeconds),
      ...(ownerConcurrency.enabled && { [ENV.ownerMaxRunning]: String(ownerConcurrency.maxRunning) }),
      ...(submitRate.enabled && {
        [ENV.submitRateMaxTasks]: String(submitRate.maxTasks),
        [ENV.submitRateWindowSeconds]: String(submitRate.windowSeconds),
      }),
    }),
  };
}

/** A lane's worker environment: the shared one, with the lane's own retry backoff (in AWS and locally). */
export function laneEnvironment<E extends Readonly<Record<string, string | undefined>>>(
  environment: E,
  lane: Pick<Lane, 'retryBaseDelaySeconds' | 'retryMaxDelaySeconds'>,
): E {
  return {
    ...environment,
    [ENV.retryBaseDelaySeconds]: String(lane.retryBaseDelaySeconds),
    [ENV.retryMaxDelaySeconds]: String(lane.retryMaxDelaySeconds),
  };
}
