import { ENV } from '../shared/env-names.js';
import type { LaneTable } from '../shared/lanes.js';
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
  /**
   * Every lane's queues and sweep stale time (infra/lanes.ts `laneTable`).
   * @default unset: the functions know the default lane alone, on `queueUrl`
   */
  readonly lanes?: LaneTable;
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
    [ENV.logLevel]: s.observability.logLevel,
    // Unset rather than empty when no role is listed, like the other optional variables.
    ...(s.auth.iamPerSessionRoles.length > 0 && { [ENV.iamPerSessionRoles]: s.auth.iamPerSessionRoles.join(',') }),
  };
}
