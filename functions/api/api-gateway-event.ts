import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpRequest, HttpResponse } from './http.js';
import { type AuthorizerContext, type OwnerPolicy, ownerOf } from './owner.js';

/**
 * API Gateway HTTP API payload 2.0 → the core's request. The owner comes from the authorizer context
 * only (see {@link ownerOf}); undefined when no authorizer ran, and the core then serves public routes only.
 */
export function toHttpRequest(event: APIGatewayProxyEventV2, ownerPolicy: OwnerPolicy = {}): HttpRequest {
  // The aws-lambda type leaves the authorizer out of APIGatewayProxyEventV2.
  const authorizer = (event.requestContext as { authorizer?: AuthorizerContext }).authorizer;
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
    ownerId: ownerOf(authorizer, ownerPolicy),
  };
}

export const toLambdaResult = (response: HttpResponse): APIGatewayProxyStructuredResultV2 => ({
  statusCode: response.statusCode,
  headers: response.headers,
  body: response.body,
});
