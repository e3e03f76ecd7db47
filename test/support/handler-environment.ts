import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type ApiHandler, createApiHandler } from '../../functions/api/handler.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { functionEnvironment, schedulerEnvironment } from '../../infra/function-environment.js';
import { LOCAL_CREDENTIALS } from '../../infra/local/emulators.js';
import { LOCAL_SCHEDULER } from '../../infra/local/scheduler-emulator.js';
import { settings } from '../../infra/settings.js';
import { ENV } from '../../shared/env-names.js';
import { type EmulatedAws, startEmulatedAws } from './emulated-aws.js';

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
        lanes: aws.resources.laneTable,
        diagnosticTasks: options.diagnosticTasks,
        deploymentKeyFile,
        scheduleTableName: aws.resources.scheduleTableName,
        taskDataBucket: aws.resources.taskDataBucket,
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

export type { ApiHandler };

/**
 * The arrange of every API handler test file: emulators started, the handler modules pointed at them,
 * the API handler built once, for the demonstration task types. Read `aws` and `handler` inside tests (they are set in beforeAll).
 */
export function useApiHandler(options: Parameters<typeof useEmulatorEnvironment>[1] = {}): {
  readonly aws: EmulatedAws;
  readonly handler: ApiHandler;
} {
  const state: { aws?: EmulatedAws; handler?: ApiHandler } = {};
  beforeAll(async () => {
    const aws = await startEmulatedAws();
    state.aws = aws;
    useEmulatorEnvironment(aws, options);
    state.handler = createApiHandler(demoTaskTypes);
  });
  afterAll(() => state.aws?.stop());
  return {
    get aws() {
      if (!state.aws) throw new Error('useApiHandler: read aws inside a test');
      return state.aws;
    },
    get handler() {
      if (!state.handler) throw new Error('useApiHandler: read handler inside a test');
      return state.handler;
    },
  };
}
