import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { functionEnvironment, schedulerEnvironment } from '../../infra/function-environment.js';
import { LOCAL_SCHEDULER } from '../../infra/local/scheduler-emulator.js';
import { settings } from '../../infra/settings.js';
import { ENV } from '../../shared/env-names.js';
import type { EmulatedAws } from './emulated-aws.js';

/**
 * Points the handler modules at the emulators, exactly as the local stack does, before they are imported.
 * Returns the path of the deployment key file the functions create on first use (under the OS temp dir).
 */
export function useEmulatorEnvironment(
  aws: EmulatedAws,
  options: { diagnosticTasks?: boolean; iamPerSessionRoles?: readonly string[] } = {},
): string {
  const deploymentKeyFile = join(tmpdir(), `offload-test-${randomUUID()}`, 'deployment-key');
  // Unset when the list is empty: a list set by an earlier test file must not linger.
  delete process.env[ENV.iamPerSessionRoles];
  Object.assign(process.env, {
    ...functionEnvironment(
      {
        tableName: aws.resources.tableName,
        queueUrl: aws.resources.queueUrl,
        diagnosticTasks: options.diagnosticTasks,
        demoTasks: true,
        deploymentKeyFile,
        scheduleTableName: aws.resources.scheduleTableName,
      },
      {
        ...settings,
        auth: { ...settings.auth, iamPerSessionRoles: options.iamPerSessionRoles ?? settings.auth.iamPerSessionRoles },
      },
    ),
    ...schedulerEnvironment(LOCAL_SCHEDULER),
    [ENV.dynamodbEndpoint]: aws.endpoints.dynamodb,
    [ENV.schedulerEndpoint]: aws.endpoints.scheduler,
    [ENV.sqsEndpoint]: aws.endpoints.sqs,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // Keeps EMF lines out of the test output; test/handlers/observability.test.ts turns them back on.
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  return deploymentKeyFile;
}
