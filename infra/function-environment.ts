import { ENV } from '../shared/env-names.js';
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
  /** The fair-share table, when a per-owner limit (settings.fairness) or a task type's own limit is on. */
  readonly fairShareTableName?: string;
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
    [ENV.diagnosticTasks]: resources.diagnosticTasks ? 'true' : 'false',
    ...(resources.deploymentKeySecretArn && { [ENV.deploymentKeySecretArn]: resources.deploymentKeySecretArn }),
    ...(resources.deploymentKeyFile && { [ENV.deploymentKeyFile]: resources.deploymentKeyFile }),
    ...fairnessEnvironment(resources, s),
    [ENV.logLevel]: s.observability.logLevel,
    // Unset rather than empty when no role is listed, like the other optional variables.
    ...(s.auth.iamPerSessionRoles.length > 0 && { [ENV.iamPerSessionRoles]: s.auth.iamPerSessionRoles.join(',') }),
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
