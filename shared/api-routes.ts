/**
 * The HTTP API's routes, as API Gateway route keys. The CDK stack declares exactly these, the
 * local front matches requests against them, and the API handler dispatches on them.
 */
export const API_ROUTES = {
  submitTask: 'POST /tasks',
  createUpload: 'POST /tasks/uploads',
  submitTasks: 'POST /tasks/batch',
  listTasks: 'GET /tasks',
  getTask: 'GET /tasks/{taskId}',
  cancelTask: 'DELETE /tasks/{taskId}',
  createSchedule: 'POST /schedules',
  listSchedules: 'GET /schedules',
  getSchedule: 'GET /schedules/{name}',
  updateSchedule: 'PATCH /schedules/{name}',
  deleteSchedule: 'DELETE /schedules/{name}',
  openApi: 'GET /openapi.json',
  health: 'GET /health',
  callbackSecret: 'GET /callbacks/secret',
} as const;

export type ApiRouteKey = (typeof API_ROUTES)[keyof typeof API_ROUTES];

/** Routes anyone may call: no authorizer in CDK, no token check in the local front. */
export const PUBLIC_ROUTES: ReadonlySet<ApiRouteKey> = new Set<ApiRouteKey>([API_ROUTES.openApi, API_ROUTES.health]);

/** Catch-all route: requests no route matches reach the handler, which answers 404 or 405 in the API's error format. */
export const DEFAULT_ROUTE = '$default';

interface CompiledRoute {
  readonly routeKey: ApiRouteKey;
  readonly method: string;
  /** The path with each `{param}` as a capture group. */
  readonly pattern: RegExp;
  readonly params: readonly string[];
}

const COMPILED: readonly CompiledRoute[] = Object.values(API_ROUTES).map((routeKey) => {
  const [method = '', path = ''] = routeKey.split(' ');
  const params = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '');
  return { routeKey, method, pattern: new RegExp(`^${path.replace(/\{\w+\}/g, '([^/]+)')}$`), params };
});

/**
 * The route a request takes, as API Gateway matches it: method and path exactly, `{param}` one
 * segment. Path parameters come back decoded, as API Gateway passes them on.
 */
export function matchRoute(
  method: string,
  path: string,
): { readonly routeKey: ApiRouteKey; readonly pathParameters: Record<string, string> } | undefined {
  for (const route of COMPILED) {
    const match = route.method === method ? route.pattern.exec(path) : null;
    if (match) {
      return {
        routeKey: route.routeKey,
        pathParameters: Object.fromEntries(
          route.params.map((name, index) => [name, decodePathSegment(match[index + 1] ?? '')]),
        ),
      };
    }
  }
  return undefined;
}

/** A malformed escape (`%E0%A4%A`) stays as sent, as API Gateway passes it on, instead of throwing. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The order methods are listed in an `Allow` header. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The methods some route takes on `path` (a trailing slash tolerated), for a 405's `Allow` header. */
export function methodsForPath(path: string): string[] {
  const trimmed = path.length > 1 ? path.replace(/\/$/, '') : path;
  return COMPILED.filter((route) => route.pattern.test(trimmed))
    .map((route) => route.method)
    .sort((a, b) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b));
}

/**
 * Tasks per `GET /tasks` page. Listing reads each task of a page from the table, and DynamoDB bills a
 * read on the whole item (up to 400 KB: 50 read units) whatever is projected, so the maximum bounds a
 * page's worst-case read cost: 50 tasks, at most 2,500 read units (README "Limits").
 */
export const LIST_PAGE_SIZE = { default: 20, max: 50 } as const;

/**
 * Batches: `POST /tasks/batch` takes 1 to `tasks` submissions (and the usual body limit for all of
 * them), `GET /tasks?ids=` 1 to `ids` task ids. Each item is its own PutItem and each id its own
 * owner-scoped read, so these bound a request's work as the list page size does.
 */
export const BATCH_LIMITS = { tasks: 100, ids: 100 } as const;
