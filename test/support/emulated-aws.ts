import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Emulators, startEmulators } from '../../infra/local/emulators.js';
import { type LocalResources, provisionResources } from '../../infra/local/provision.js';
import { settings, visibilityTimeoutSeconds } from '../../infra/settings.js';

export interface EmulatedAws {
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string };
  readonly resources: LocalResources;
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** The local SQS's fair ordering of a standard queue (infra/local/fair-queues.ts). */
  readonly fairness: Emulators['fairness'];
  stop(): Promise<void>;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Real SDK clients against dynalite and fauxqs, with the table and queues the stack defines. */
export async function startEmulatedAws(): Promise<EmulatedAws> {
  const emulators = await startEmulators();
  const dynamodb = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: emulators.dynamodbEndpoint });
  const sqs = new SQSClient({ region: 'us-east-1', credentials, endpoint: emulators.sqsEndpoint });
  const resources = await provisionResources({ dynamodb, sqs }, settings, visibilityTimeoutSeconds());
  return {
    endpoints: { dynamodb: emulators.dynamodbEndpoint, sqs: emulators.sqsEndpoint },
    resources,
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
    sqs,
    fairness: (queueUrl) => emulators.fairness(queueUrl),
    async stop() {
      dynamodb.destroy();
      sqs.destroy();
      await emulators.stop();
    },
  };
}
