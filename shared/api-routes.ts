/**
 * The HTTP API's routes, as API Gateway route keys. The CDK stack declares exactly these, the
 * local front matches requests against them, and the API handler dispatches on them.
 */
export const API_ROUTES = {
  submitTask: 'POST /tasks',
  createUpload: 'POST /tasks/uploads',
  listTasks: 'GET /tasks',
  getTask: 'GET /tasks/{taskId}',
  cancelTask: 'DELETE /tasks/{taskId}',
  openApi: 'GET /openapi.json',
  health: 'GET /health',
} as const;

export type ApiRouteKey = (typeof API_ROUTES)[keyof typeof API_ROUTES];

/** Routes anyone may call: no authorizer in CDK, no token check in the local front. */
export const PUBLIC_ROUTES: ReadonlySet<ApiRouteKey> = new Set<ApiRouteKey>([API_ROUTES.openApi, API_ROUTES.health]);

/** Catch-all route: requests no route matches reach the handler, which answers 404 or 405 in the API's error format. */
export const DEFAULT_ROUTE = '$default';

/**
 * Tasks per `GET /tasks` page. Listing reads each task of a page from the table, and DynamoDB bills a
 * read on the whole item (up to 400 KB: 50 read units) whatever is projected, so the maximum bounds a
 * page's worst-case read cost: 50 tasks, at most 2,500 read units (README "Limits").
 */
export const LIST_PAGE_SIZE = { default: 20, max: 50 } as const;
