import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startEmulators } from '../../infra/local/emulators.js';
import { type LocalResources, provisionResources } from '../../infra/local/provision.js';
import { type SchedulerEmulator, startSchedulerEmulator } from '../../infra/local/scheduler-emulator.js';
import { settings, visibilityTimeoutSeconds } from '../../infra/settings.js';

export interface EmulatedAws {
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string; readonly scheduler: string };
  readonly resources: LocalResources;
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** The local Scheduler; its firings are recorded in `firings` (nothing runs them). */
  readonly scheduler: SchedulerEmulator;
  readonly firings: Array<{ readonly arn: string; readonly event: unknown }>;
  stop(): Promise<void>;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Real SDK clients against dynalite and fauxqs, with the table and queues the stack defines. */
export async function startEmulatedAws(): Promise<EmulatedAws> {
  const emulators = await startEmulators();
  const dynamodb = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: emulators.dynamodbEndpoint });
  const sqs = new SQSClient({ region: 'us-east-1', credentials, endpoint: emulators.sqsEndpoint });
  const resources = await provisionResources({ dynamodb, sqs }, settings, visibilityTimeoutSeconds());
  const firings: Array<{ arn: string; event: unknown }> = [];
  const scheduler = await startSchedulerEmulator({ invoke: async (arn, event) => void firings.push({ arn, event }) });
  return {
    endpoints: { dynamodb: emulators.dynamodbEndpoint, sqs: emulators.sqsEndpoint, scheduler: scheduler.endpoint },
    resources,
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
    sqs,
    scheduler,
    firings,
    async stop() {
      await scheduler.stop();
      dynamodb.destroy();
      sqs.destroy();
      await emulators.stop();
    },
  };
}
