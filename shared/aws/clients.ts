import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.js';

/** Built once per Lambda container (module scope) and reused by every invocation. */
export function createDocumentClient(config: Config): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ endpoint: config.endpoints.dynamodb });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createSqsClient(config: Config): SQSClient {
  return new SQSClient({ endpoint: config.endpoints.sqs });
}
