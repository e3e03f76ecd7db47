import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpRequest, HttpResponse } from './http.js';

/** The authorizer part of a payload 2.0 event, for either authorizer type the stack can use. */
interface AuthorizerContext {
  readonly jwt?: { readonly claims?: Readonly<Record<string, unknown>> };
  readonly iam?: { readonly userArn?: string; readonly userId?: string };
}

/**
 * Tasks belong to the verified caller: the JWT `sub`, or the IAM caller's ARN, read only from what
 * the authorizer filled in (never from a header or the body). Undefined when no authorizer ran: the
 * core then serves public routes only (functions/api/caller.ts).
 */
export function ownerOf(event: APIGatewayProxyEventV2): string | undefined {
  const authorizer = (event.requestContext as { authorizer?: AuthorizerContext }).authorizer;
  const sub = authorizer?.jwt?.claims?.sub;
  if (typeof sub === 'string' && sub) return `jwt:${sub}`;
  const userArn = authorizer?.iam?.userArn;
  if (typeof userArn === 'string' && userArn) return `iam:${userArn}`;
  return undefined;
}

/** API Gateway HTTP API payload 2.0 → the core's request. */
export function toHttpRequest(event: APIGatewayProxyEventV2): HttpRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  return {
    routeKey: event.routeKey,
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    pathParameters: event.pathParameters ?? {},
    query: event.queryStringParameters ?? {},
    headers,
    body: event.body === undefined ? undefined : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
    requestId: event.requestContext.requestId,
    ownerId: ownerOf(event),
  };
}

export const toLambdaResult = (response: HttpResponse): APIGatewayProxyStructuredResultV2 => ({
  statusCode: response.statusCode,
  headers: response.headers,
  body: response.body,
});
