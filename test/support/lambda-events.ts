import { createHash, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { IamAuthorizerContext } from '../../functions/api/owner.js';
import { lambdaContext } from '../../infra/local/lambda-context.js';

/** A Lambda context with `timeoutMs` left, as the handlers get in AWS. */
export const testContext = (timeoutMs = 30_000): Context => lambdaContext('test-function', timeoutMs, 512);

export interface HttpEventInput {
  readonly routeKey: string;
  /** @default the route key's method (GET for a catch-all route key) */
  readonly method?: string;
  /** The full path as sent, the stage included on a named stage. */
  readonly path: string;
  /** @default `$default` */
  readonly stage?: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** Adds the JWT authorizer context API Gateway fills for a verified token. */
  readonly jwtSub?: string;
  /** Adds the IAM authorizer context API Gateway fills for a SigV4-signed request; see {@link iamCaller}. */
  readonly iam?: IamAuthorizerContext;
}

export const TEST_ACCOUNT = '123456789012';
const ORG_ID = 'o-a1b2c3d4e5';

/** A stable IAM unique id (`AIDA…`, `AROA…`, `ASIA…`) for `name`, so each principal keeps its own. */
function uniqueId(prefix: string, name: string): string {
  const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(name).digest();
  return prefix + [...digest.subarray(0, 17)].map((byte) => base32[byte % 32]).join('');
}

/**
 * `requestContext.authorizer.iam` as API Gateway fills it for each kind of SigV4 caller, after the
 * payload 2.0 examples in the AWS documentation: `cognitoIdentity` is null unless an identity pool issued
 * the credentials, `callerId` and `userId` are the caller's `aws:userid`.
 */
export const iamCaller = {
  user: (name: string, account = TEST_ACCOUNT, path = '/'): IamAuthorizerContext => ({
    accessKey: uniqueId('AKIA', `${account}${name}key`).slice(0, 20),
    accountId: account,
    callerId: uniqueId('AIDA', `${account}${name}`),
    cognitoIdentity: null,
    principalOrgId: ORG_ID,
    userArn: `arn:aws:iam::${account}:user${path}${name}`,
    userId: uniqueId('AIDA', `${account}${name}`),
  }),

  root: (account = TEST_ACCOUNT): IamAuthorizerContext => ({
    accessKey: uniqueId('AKIA', `${account}root`).slice(0, 20),
    accountId: account,
    callerId: account,
    cognitoIdentity: null,
    principalOrgId: ORG_ID,
    userArn: `arn:aws:iam::${account}:root`,
    userId: account,
  }),

  /** A session of `role` (AssumeRole and its kin); the ARN carries the role's name, never its path. */
  roleSession: (role: string, session: string, account = TEST_ACCOUNT): IamAuthorizerContext => {
    const userId = `${uniqueId('AROA', `${account}${role}`)}:${session}`;
    return {
      accessKey: uniqueId('ASIA', `${account}${role}${session}`).slice(0, 20),
      accountId: account,
      callerId: userId,
      cognitoIdentity: null,
      principalOrgId: ORG_ID,
      userArn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
      userId,
    };
  },

  /** GetFederationToken: `name` is whatever the calling IAM user passed. */
  federatedUser: (name: string, account = TEST_ACCOUNT): IamAuthorizerContext => ({
    accessKey: uniqueId('ASIA', `${account}${name}fed`).slice(0, 20),
    accountId: account,
    callerId: `${account}:${name}`,
    cognitoIdentity: null,
    principalOrgId: ORG_ID,
    userArn: `arn:aws:sts::${account}:federated-user/${name}`,
    userId: `${account}:${name}`,
  }),

  /**
   * Credentials of a Cognito identity pool (enhanced flow): every identity of the pool signs as the same
   * session of the pool's role, `CognitoIdentityCredentials`; only `cognitoIdentity` tells them apart.
   */
  cognitoIdentity: (
    identityPoolId: string,
    identityId: string,
    { role = 'Cognito_offloadAuth_Role', account = TEST_ACCOUNT, authenticated = true } = {},
  ): IamAuthorizerContext => {
    const userId = `${uniqueId('AROA', `${account}${role}`)}:CognitoIdentityCredentials`;
    const userPool = 'cognito-idp.us-east-1.amazonaws.com/us-east-1_aBcDeFgHi';
    const sub = createHash('sha256')
      .update(identityId)
      .digest('hex')
      .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, '$1-$2-$3-$4-$5');
    return {
      accessKey: uniqueId('ASIA', identityId).slice(0, 20),
      accountId: account,
      callerId: userId,
      cognitoIdentity: {
        amr: authenticated ? ['authenticated', userPool, `${userPool}:CognitoSignIn:${sub}`] : ['unauthenticated'],
        identityId,
        identityPoolId,
      },
      principalOrgId: ORG_ID,
      userArn: `arn:aws:sts::${account}:assumed-role/${role}/CognitoIdentityCredentials`,
      userId,
    };
  },
};

/** An API Gateway HTTP API payload 2.0 event, as the service sends it. */
export function httpApiEvent(input: HttpEventInput): APIGatewayProxyEventV2 {
  const method = input.method ?? (input.routeKey === '$default' ? 'GET' : (input.routeKey.split(' ')[0] ?? 'GET'));
  const authorizer = input.jwtSub
    ? { jwt: { claims: { sub: input.jwtSub }, scopes: null } }
    : input.iam
      ? { iam: input.iam }
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
      stage: input.stage ?? '$default',
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
