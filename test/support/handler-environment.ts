import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { functionEnvironment } from '../../infra/function-environment.js';
import { LOCAL_CREDENTIALS } from '../../infra/local/emulators.js';
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
        taskDataBucket: aws.resources.taskDataBucket,
      },
      {
        ...settings,
        auth: { ...settings.auth, iamPerSessionRoles: options.iamPerSessionRoles ?? settings.auth.iamPerSessionRoles },
      },
    ),
    [ENV.dynamodbEndpoint]: aws.endpoints.dynamodb,
    [ENV.sqsEndpoint]: aws.endpoints.sqs,
    [ENV.s3Endpoint]: aws.endpoints.s3,
    AWS_REGION: 'us-east-1',
    // The local credentials: the emulator checks presigned URLs with their secret.
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // Keeps EMF lines out of the test output; test/handlers/observability.test.ts turns them back on.
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  return deploymentKeyFile;
}
