import { API_ROUTES } from '../../shared/api-routes.js';
import { DependencyUnavailableError } from '../../shared/errors.js';
import { callerOf } from './caller.js';
import { type HttpRequest, type HttpResponse, jsonResponse, parseJsonBody } from './http.js';
import type { ApiDeps } from './routes.js';
import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  type ScheduleDeps,
  updateSchedule,
} from './schedules.js';

/** The schedule routes, imported by routes.ts on the first schedule request. */
export async function scheduleRoute(request: HttpRequest, deps: ApiDeps): Promise<HttpResponse> {
  const ownerId = callerOf(request);
  const scheduleDeps = scheduleDepsOf(deps);
  const name = request.pathParameters.name ?? '';
  switch (request.routeKey) {
    case API_ROUTES.createSchedule: {
      const view = await createSchedule({ ownerId, body: parseJsonBody(request, deps.maxBodyBytes) }, scheduleDeps);
      return jsonResponse(201, view, {
        location: `${request.basePath ?? ''}/schedules/${encodeURIComponent(view.name)}`,
      });
    }
    case API_ROUTES.listSchedules:
      return jsonResponse(200, await listSchedules({ ownerId, query: request.query }, scheduleDeps));
    case API_ROUTES.getSchedule:
      return jsonResponse(200, await getSchedule({ ownerId, name }, scheduleDeps));
    case API_ROUTES.updateSchedule: {
      const body = parseJsonBody(request, deps.maxBodyBytes);
      return jsonResponse(200, await updateSchedule({ ownerId, name, body }, scheduleDeps));
    }
    default:
      await deleteSchedule({ ownerId, name }, scheduleDeps);
      return { statusCode: 204, headers: {}, body: '' };
  }
}

/** A deployment without the schedule table or Scheduler cannot serve these routes: a 503, never a 500. */
function scheduleDepsOf(deps: ApiDeps): ScheduleDeps {
  if (!deps.scheduleStore || !deps.scheduler || !deps.scheduleLimits) throw new DependencyUnavailableError('scheduler');
  return {
    scheduleStore: deps.scheduleStore,
    scheduler: deps.scheduler,
    registry: deps.registry,
    clock: deps.clock,
    log: deps.log,
    maxPerOwner: deps.scheduleLimits.maxPerOwner,
    ...(deps.lanes && { lanes: deps.lanes }),
    ...(deps.checkCallbackUrl && { checkCallbackUrl: deps.checkCallbackUrl }),
  };
}
