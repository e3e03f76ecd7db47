import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { DEFAULT_ROUTE, matchRoute, PUBLIC_ROUTES } from '../../shared/api-routes.js';
import type { LocalAuthorizer } from './local-authorizer.js';

export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface HttpFrontOptions {
  readonly host: string;
  readonly port: number;
  readonly handler: HttpApiHandler;
  readonly context: () => Context;
  readonly onError?: (error: unknown) => void;
  /** Local-only pages (the console), served ahead of the API routes and its authorizer; true when handled. */
  readonly localRoutes?: (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;
  /** Every route but PUBLIC_ROUTES goes through it, as through API Gateway's authorizer. @default none: all open */
  readonly authorize?: LocalAuthorizer;
}

export interface HttpFront {
  readonly url: string;
  stop(): Promise<void>;
}

/** API Gateway rejects request bodies over 10 MB before the Lambda sees them. */
const API_GATEWAY_MAX_BODY = 10 * 1024 * 1024;

/** Serves HTTP as an API Gateway HTTP API does: routes, payload format 2.0 events, the handler's result. */
export async function startHttpFront(options: HttpFrontOptions): Promise<HttpFront> {
  const server = createServer((request, response) => {
    serve(request, response, options).catch((error: unknown) => {
      options.onError?.(error);
      if (!response.headersSent) writeJson(response, 500, { message: 'Internal Server Error' });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${options.host}:${port}`, stop: () => close(server) };
}

async function serve(request: IncomingMessage, response: ServerResponse, options: HttpFrontOptions): Promise<void> {
  if (await options.localRoutes?.(request, response)) return;
  const body = await readBody(request);
  if (body === 'too-large') {
    writeJson(response, 413, { message: 'Request Entity Too Large' });
    return;
  }
  const event = toEvent(request, body);
  if (options.authorize && !(PUBLIC_ROUTES as ReadonlySet<string>).has(event.routeKey)) {
    const verdict = await options.authorize(event.headers.authorization);
    if (!verdict.authorized) {
      writeUnauthorized(response, event.requestContext.requestId, verdict.reason);
      return;
    }
    Object.assign(event.requestContext, { authorizer: verdict.context });
  }
  let result: APIGatewayProxyStructuredResultV2;
  try {
    result = await options.handler(event, options.context());
  } catch (error) {
    // What API Gateway answers when the integration fails.
    options.onError?.(error);
    writeJson(response, 500, { message: 'Internal Server Error' });
    return;
  }
  const payload =
    result.body === undefined ? undefined : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  response.writeHead(result.statusCode ?? 200, {
    ...Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
    'apigw-requestid': event.requestContext.requestId,
  });
  response.end(payload);
}

function toEvent(request: IncomingMessage, body: Buffer | undefined): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://local');
  const method = (request.method ?? 'GET').toUpperCase();
  const path = url.pathname;
  const route = matchRoute(method, path);
  const pathParameters = route?.pathParameters;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  const routeKey = route?.routeKey ?? DEFAULT_ROUTE;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    ...(pathParameters && Object.keys(pathParameters).length > 0 && { pathParameters }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method,
        path,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    // API Gateway passes text bodies as is and base64-encodes the rest.
    ...(body &&
      (isText(headers['content-type']) ? { body: body.toString('utf8') } : { body: body.toString('base64') })),
    isBase64Encoded: body !== undefined && !isText(headers['content-type']),
  };
}

const isText = (contentType: string | undefined): boolean =>
  contentType !== undefined &&
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|x-www-form-urlencoded))/i.test(contentType);

async function readBody(request: IncomingMessage): Promise<Buffer | undefined | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > API_GATEWAY_MAX_BODY) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return size === 0 ? undefined : Buffer.concat(chunks);
}

/**
 * API Gateway answers `{"message":"Unauthorized"}` and a `www-authenticate` challenge; the body here
 * also carries the API's own error object, so clients of either shape read it (README "Security model").
 */
function writeUnauthorized(response: ServerResponse, requestId: string, reason: string | undefined): void {
  response.writeHead(401, {
    'content-type': 'application/json',
    // RFC 6750 §3: no error code when the request carried no token at all.
    'www-authenticate': reason ? `Bearer error="invalid_token", error_description="${reason}"` : 'Bearer',
    'apigw-requestid': requestId,
  });
  const message = reason
    ? `The bearer token was refused: ${reason}.`
    : 'Send "Authorization: Bearer <token>" (locally: npx offload token --sub NAME; in the offload repository, npm run -s token -- --sub NAME).';
  response.end(JSON.stringify({ message: 'Unauthorized', error: { code: 'Unauthorized', message, requestId } }));
}

function writeJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
