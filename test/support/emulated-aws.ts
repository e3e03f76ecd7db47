import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { lanesOf } from '../../infra/lanes.js';
import { type Emulators, LOCAL_CREDENTIALS, startEmulators } from '../../infra/local/emulators.js';
import { type LocalResources, provisionResources } from '../../infra/local/provision.js';
import { type SchedulerEmulator, startSchedulerEmulator } from '../../infra/local/scheduler-emulator.js';
import { settings } from '../../infra/settings.js';

export interface EmulatedAws {
  readonly endpoints: {
    readonly dynamodb: string;
    readonly sqs: string;
    readonly scheduler: string;
    readonly s3: string;
  };
  readonly resources: LocalResources;
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** The local Scheduler; its firings are recorded in `firings` (nothing runs them). */
  readonly scheduler: SchedulerEmulator;
  readonly firings: Array<{ readonly arn: string; readonly event: unknown }>;
  /** Path-style, as the functions' client is locally. */
  readonly s3: S3Client;
  /** The local SQS's fair ordering of a standard queue (infra/local/fair-queues.ts). */
  readonly fairness: Emulators['fairness'];
  stop(): Promise<void>;
}

const credentials = LOCAL_CREDENTIALS;

/** Real SDK clients against dynalite and fauxqs, with the table, queues and bucket the stack defines. */
export async function startEmulatedAws(options: { readonly now?: () => number } = {}): Promise<EmulatedAws> {
  const emulators = await startEmulators({ now: options.now });
  const dynamodb = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: emulators.dynamodbEndpoint });
  const sqs = new SQSClient({ region: 'us-east-1', credentials, endpoint: emulators.sqsEndpoint });
  const s3 = new S3Client({
    region: 'us-east-1',
    credentials,
    endpoint: emulators.s3Endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const resources = await provisionResources({ dynamodb, sqs, s3 }, settings, lanesOf(settings));
  const firings: Array<{ arn: string; event: unknown }> = [];
  const scheduler = await startSchedulerEmulator({ invoke: async (arn, event) => void firings.push({ arn, event }) });
  return {
    endpoints: {
      dynamodb: emulators.dynamodbEndpoint,
      sqs: emulators.sqsEndpoint,
      scheduler: scheduler.endpoint,
      s3: emulators.s3Endpoint,
    },
    resources,
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
    sqs,
    scheduler,
    firings,
    s3,
    fairness: (queueUrl) => emulators.fairness(queueUrl),
    async stop() {
      await scheduler.stop();
      dynamodb.destroy();
      sqs.destroy();
      s3.destroy();
      await emulators.stop();
    },
  };
}
