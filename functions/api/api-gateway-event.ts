import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { API_ROUTES, DEFAULT_ROUTE, matchRoute } from '../../shared/api-routes.js';
import type { HttpRequest, HttpResponse } from './http.js';
import { type AuthorizerContext, type OwnerPolicy, ownerOf } from './owner.js';

const DECLARED_ROUTES: ReadonlySet<string> = new Set(Object.values(API_ROUTES));

/**
 * API Gateway HTTP API payload 2.0 → the core's request. The owner comes from the authorizer context
 * only (see {@link ownerOf}); undefined when no authorizer ran, and the core then serves public routes only.
 *
 * The stack declares every route, but an API in front of the function may also send them through a
 * catch-all (`$default`, `ANY /{proxy+}`): the route is then matched here from method and path, as API
 * Gateway would have, so that a catch-all API serves the same routes with the same checks.
 */
export function toHttpRequest(event: APIGatewayProxyEventV2, ownerPolicy: OwnerPolicy = {}): HttpRequest {
  // The aws-lambda type leaves the authorizer out of APIGatewayProxyEventV2.
  const authorizer = (event.requestContext as { authorizer?: AuthorizerContext }).authorizer;
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const method = event.requestContext.http.method.toUpperCase();
  const basePath = stagePrefix(event.rawPath, event.requestContext.stage);
  const path = event.rawPath.slice(basePath.length) || '/';
  const declared = DECLARED_ROUTES.has(event.routeKey);
  const matched = declared ? undefined : matchRoute(method, path);
  return {
    routeKey: declared ? event.routeKey : (matched?.routeKey ?? DEFAULT_ROUTE),
    method,
    path,
    ...(basePath && { basePath }),
    pathParameters: (declared ? event.pathParameters : matched?.pathParameters) ?? {},
    query: event.queryStringParameters ?? {},
    headers,
    // Absent when there is none; `null` from some emitters means the same.
    body: event.body == null ? undefined : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
    requestId: event.requestContext.requestId,
    ownerId: ownerOf(authorizer, ownerPolicy),
    authenticated: authorizer?.jwt != null || authorizer?.iam != null,
  };
}

/** On a named stage, `rawPath` starts with the stage (`/prod/tasks`): that prefix; the `$default` stage adds none. */
function stagePrefix(rawPath: string, stage: string | undefined): string {
  if (!stage || stage === '$default') return '';
  const prefix = `/${stage}`;
  return rawPath === prefix || rawPath.startsWith(`${prefix}/`) ? prefix : '';
}

export const toLambdaResult = (response: HttpResponse): APIGatewayProxyStructuredResultV2 => ({
  statusCode: response.statusCode,
  headers: response.headers,
  body: response.body,
});
