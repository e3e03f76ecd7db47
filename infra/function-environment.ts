import { ENV } from '../shared/env-names.js';
import { settings as defaults, type Settings } from './settings.js';

export interface FunctionResources {
  readonly tableName: string;
  readonly queueUrl: string;
  /** Registers the diagnostic task types (fail, crash) used by the e2e suite. */
  readonly diagnosticTasks?: boolean;
  /** Registers the demonstration task types (echo, sleep). */
  readonly demoTasks?: boolean;
  /** The Secrets Manager secret holding the deployment key (in AWS): its ARN, never its value. */
  readonly deploymentKeySecretArn?: string;
  /** The file holding the deployment key (local stack, tests). */
  readonly deploymentKeyFile?: string;
  /** The task data bucket: payloads, results and files too large for a task's item. @default none: all inline */
  readonly taskDataBucket?: string;
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
    [ENV.demoTasks]: resources.demoTasks ? 'true' : 'false',
    ...(resources.deploymentKeySecretArn && { [ENV.deploymentKeySecretArn]: resources.deploymentKeySecretArn }),
    ...(resources.deploymentKeyFile && { [ENV.deploymentKeyFile]: resources.deploymentKeyFile }),
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
