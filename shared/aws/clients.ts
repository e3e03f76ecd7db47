import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
// Type only: the S3 client is built in s3-blob-store.ts, loaded on first use, never at a cold start.
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.js';

/** Who built a client: the functions' factories below, or the local stack's own pollers and provisioning. */
export type SdkClientOrigin = 'function' | 'local-stack';
export type SdkClientListener = (client: DynamoDBClient | SQSClient | S3Client, origin: SdkClientOrigin) => void;

const clientListeners: SdkClientListener[] = [];

/**
 * Lets a measuring tool (the benchmark) attach middleware to every SDK client built after this call.
 * Nothing in production registers a listener, so clients are built exactly as without it.
 */
export function onSdkClientCreated(listener: SdkClientListener): void {
  clientListeners.push(listener);
}

/** Tells the listeners about a client; returns it unchanged. */
export function announceSdkClient<T extends DynamoDBClient | SQSClient | S3Client>(
  client: T,
  origin: SdkClientOrigin,
): T {
  for (const listener of clientListeners) listener(client, origin);
  return client;
}

/** Built once per Lambda container (module scope) and reused by every invocation. */
export function createDocumentClient(config: Config): DynamoDBDocumentClient {
  const client = announceSdkClient(new DynamoDBClient({ endpoint: config.endpoints.dynamodb }), 'function');
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createSqsClient(config: Config): SQSClient {
  return announceSdkClient(new SQSClient({ endpoint: config.endpoints.sqs }), 'function');
}
