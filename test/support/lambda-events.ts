import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from '../../infra/local/lambda-context.js';

/** A Lambda context with `timeoutMs` left, as the handlers get in AWS. */
export const testContext = (timeoutMs = 30_000): Context => lambdaContext('test-function', timeoutMs, 512);

export interface HttpEventInput {
  readonly routeKey: string;
  readonly path: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** Adds the JWT authorizer context API Gateway fills for a verified token. */
  readonly jwtSub?: string;
  readonly iamUserArn?: string;
}

/** An API Gateway HTTP API payload 2.0 event, as the service sends it. */
export function httpApiEvent(input: HttpEventInput): APIGatewayProxyEventV2 {
  const method = input.routeKey === '$default' ? 'GET' : (input.routeKey.split(' ')[0] ?? 'GET');
  const authorizer = input.jwtSub
    ? { jwt: { claims: { sub: input.jwtSub }, scopes: null } }
    : input.iamUserArn
      ? { iam: { userArn: input.iamUserArn, userId: 'AIDA', accountId: '1', accessKey: 'AKIA' } }
      : undefined;
  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: input.path,
    rawQueryString: new URLSearchParams(input.query).toString(),
    headers: { host: 'api.example.com', ...input.headers },
    ...(input.pathParameters && { pathParameters: input.pathParameters }),
    ...(input.query && { queryStringParameters: input.query }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: input.path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: input.routeKey,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      ...(authorizer && { authorizer }),
    } as APIGatewayProxyEventV2['requestContext'],
    ...(input.body !== undefined && { body: input.body }),
    isBase64Encoded: false,
  };
}

/** An SQS record as the event source mapping delivers it. */
export function sqsRecord(body: string, overrides: Partial<SQSRecord> = {}): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: `receipt-${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'sender',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:offload-tasks',
    awsRegion: 'us-east-1',
    ...overrides,
  };
}

export const sqsEvent = (records: SQSRecord[]): SQSEvent => ({ Records: records });
