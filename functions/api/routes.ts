import { API_ROUTES, DEFAULT_ROUTE, methodsForPath } from '../../shared/api-routes.js';
import type { CallbackQueue } from '../../shared/callbacks/ports.js';
import { MethodNotAllowedError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { API_REQUEST_LOG_MESSAGE, LOG_KEYS } from '../../shared/metric-names.js';
import type { OwnerGroup } from '../../shared/owner-group.js';
import type { OwnerHash } from '../../shared/owner-hash.js';
import type { Clock, Log, ScheduleService, ScheduleStore, TaskQueue, TaskStore } from '../../shared/ports.js';
import { isTerminal, type Task, toTaskView } from '../../shared/task.js';
import type { TaskData } from '../../shared/task-data.js';
import { taskViewOf } from '../../shared/task-data-view.js';
import type { TaskMetrics } from '../../shared/task-metrics.js';
import { secondsUntil } from '../../shared/time.js';
import type { TaskRegistry } from '../tasks/define-task.js';
import { parseBatchSubmission } from './batch-submission.js';
import { callerOf, requireCallerUnlessPublic } from './caller.js';
import { cancelTask } from './cancel-task.js';
import { createUpload } from './create-upload.js';
import { getTask } from './get-task.js';
import { getTasksByIds } from './get-tasks-by-ids.js';
import { errorResponse, type HttpRequest, type HttpResponse, jsonResponse, parseJsonBody } from './http.js';
import { listTasks } from './list-tasks.js';
import { checkRequestLimits } from './request-limits.js';
import type { RunAtLimits } from './run-at.js';
import { UploadBody } from './schemas.js';
import { parseSubmission } from './submission.js';
import { type BatchItemResult, submitBatch } from './submit-batch.js';
import { type SubmitTaskDeps, submitTask } from './submit-task.js';
import { issuesToDetails } from './validation.js';

export interface ApiDeps {
  readonly store: TaskStore;
  readonly queue: TaskQueue;
  readonly registry: TaskRegistry;
  readonly clock: Clock;
  readonly log: Log;
  readonly maxBodyBytes: number;
  readonly retryAfterSeconds: number;
  readonly defaultMaxAttempts: number;
  readonly ttlDays: number;
  /** The lanes the deployment has. @default the default lane alone */
  readonly lanes?: readonly string[];
  /** Task events for the dashboard. @default not recorded */
  readonly metrics?: TaskMetrics;
  /**
   * Keyed hash of the caller for the request's log line; the handler sets it once the deployment key is
   * loaded. @default the line carries no owner
   */
  readonly ownerHash?: OwnerHash;
  /** Checks callback URLs at submission. @default callbacks are not offered */
  readonly checkCallbackUrl?: (url: string) => Promise<string>;
  /** Where a cancelled task's callback is queued. @default not sent */
  readonly callbackQueue?: CallbackQueue;
  /** The caller's signing secret, `whsec_…` (GET /callbacks/secret). @default the route answers 404 */
  readonly callbackSecret?: (ownerId: string) => Promise<string>;
  /** EventBridge Scheduler: schedules, and tasks whose `runAt` is beyond the SQS delay. @default neither is served */
  readonly scheduler?: ScheduleService;
  /** The schedule table. @default the schedule routes answer 503 */
  readonly scheduleStore?: ScheduleStore;
  /** settings.schedules, as the environment carries them. @default `runAt` and schedules are refused */
  readonly scheduleLimits?: RunAtLimits & { readonly maxPerOwner: number };
  /** The bucket for payloads, results and files too large for an item. @default none: everything inline */
  readonly taskData?: TaskData;
  /** The owner's keyed group for fair queues and fair-share limits; set with `ownerHash`. @default none */
  readonly ownerGroup?: OwnerGroup;
  /** The per-owner submit rate limit, when it is on. @default no limit */
  readonly submitRate?: SubmitTaskDeps['submitRate'];
}

/**
 * Dispatches on the API Gateway route key; errors of every route are shaped in one place. Logs one line
 * per request with the request id and the owner's hash: the access log has the request id but cannot
 * name the caller (API Gateway cannot compute a keyed hash), so operators join the two on `requestId`.
 */
export async function handleApiRequest(request: HttpRequest, deps: ApiDeps): Promise<HttpResponse> {
  const response = await route(request, deps);
  deps.log.info(API_REQUEST_LOG_MESSAGE, {
    [LOG_KEYS.requestId]: request.requestId,
    [LOG_KEYS.routeKey]: request.routeKey.slice(0, 100),
    [LOG_KEYS.statusCode]: response.statusCode,
    ...(request.ownerId && deps.ownerHash && { [LOG_KEYS.ownerHash]: deps.ownerHash(request.ownerId) }),
  });
  return response;
}

async function route(request: HttpRequest, deps: ApiDeps): Promise<HttpResponse> {
  try {
    checkRequestLimits(request);
    requireCallerUnlessPublic(request);
    switch (request.routeKey) {
      case API_ROUTES.health:
        // Liveness of the function only: no table or queue call, so it costs nothing and reveals nothing.
        return jsonResponse(200, { status: 'ok' });
      case API_ROUTES.openApi:
        // Loaded on the first request for it: building the document needs code no other route does.
        return jsonResponse(200, (await import('./openapi.js')).openApiDocumentFor(deps.registry));
      case API_ROUTES.submitTask:
        return await submit(request, deps);
      case API_ROUTES.createUpload:
        return await upload(request, deps);
      case API_ROUTES.submitTasks:
        return await submitMany(request, deps);
      case API_ROUTES.getTask:
        return await get(request, deps);
      case API_ROUTES.listTasks:
        if (request.query.ids !== undefined) return await getMany(request, deps);
        return jsonResponse(200, await listTasks({ ownerId: callerOf(request), query: request.query }, deps));
      case API_ROUTES.cancelTask:
        return await cancel(request, deps);
      case API_ROUTES.callbackSecret:
        return await callbackSecret(request, deps);
      case API_ROUTES.createSchedule:
      case API_ROUTES.listSchedules:
      case API_ROUTES.getSchedule:
      case API_ROUTES.updateSchedule:
      case API_ROUTES.deleteSchedule:
        // Loaded on the first schedule request: croner and the schedule code stay off the cold start.
        return await (await import('./schedule-routes.js')).scheduleRoute(request, deps);
      default:
        return unmatched(request);
    }
  } catch (error) {
    return errorResponse(error, request.requestId, deps.log, deps.retryAfterSeconds);
  }
}

async function submit(request: HttpRequest, deps: ApiDeps): Promise<HttpResponse> {
  const submission = parseSubmission(request, callerOf(request), deps.maxBodyBytes);
  const { task, created } = await submitTask(submission, deps);
  // A delayed task cannot finish before its delay: no point polling sooner.
  const untilRunAt = task.runAtMs ? secondsUntil(task.runAtMs, deps.clock().getTime()) : 0;
  const retryAfter = Math.max(deps.retryAfterSeconds, submission.delaySeconds ?? 0, untilRunAt);
  const location = { location: `${request.basePath ?? ''}/tasks/${task.taskId}` };
  if (!created) {
    const view = await taskViewOf(task, deps);
    return jsonResponse(200, view, taskHeaders(task, deps, { ...location, 'idempotent-replayed': 'true' }));
  }
  return jsonResponse(202, toTaskView(task), { ...location, 'retry-after': String(retryAfter) });
}

/**
 * 202 when every item was accepted, 207 (Multi-Status) when some were not: either way one result per
 * item, in order. A problem of the whole request (not a batch, repeated keys, the rate limit) is the
 * usual error, and nothing was recorded.
 */
async function submitMany(request: HttpRequest, deps: ApiDeps): Promise<HttpResponse> {
  const items = parseBatchSubmission(request, callerOf(request), deps.maxBodyBytes);
  const results = await submitBatch(items, deps);
  const allAccepted = results.every((result) => result.accepted);
  const headers: Record<string, string> = results.some((result) => result.accepted)
    ? { 'retry-after': String(deps.retryAfterSeconds) }
    : {};
  return jsonResponse(
    allAccepted ? 202 : 207,
    { results: results.map((result) => batchResultView(result, request, deps)) },
    headers,
  );
}

function batchResultView(result: BatchItemResult, request: HttpRequest, deps: ApiDeps) {
  if (result.accepted) {
    const { task, created } = result;
    return {
      taskId: task.taskId,
      status: task.status,
      location: `${request.basePath ?? ''}/tasks/${task.taskId}`,
      ...(!created && { replayed: true }),
    };
  }
  // As a request's error is answered (and logged): our own errors as they are, anything else a generic one.
  const answer = errorResponse(result.error, request.requestId, deps.log, deps.retryAfterSeconds);
  const { requestId: _requestId, ...error } = (JSON.parse(answer.body) as { error: Record<string, unknown> }).error;
  return { error };
}

/** `GET /tasks?ids=`: `Retry-After` while one of the tasks is not finished, as for one task. */
async function getMany(request: HttpRequest, deps: ApiDeps): Promise<HttpResponse> {
  const found = await getTasksByIds({ ownerId: callerOf(request), query: request.query }, deps);
  const unfinished = found.tasks.some((task) => !isTerminal(task.status));
  const headers: Record<string, string> = unfinished ? { 'retry-after': String(deps.retryAfterSeconds) } : {};
  return jsonResponse(200, found, headers);
}

async function get(request: HttpRequest, deps: ApiDeps): Promise<HttpResponse> {
  const task = await getTask({ ownerId: callerOf(request), taskId: request.pathParameters.taskId ?? '' }, deps);
  return jsonResponse(200, await taskViewOf(task, deps), taskHeaders(task, deps));
}

/** 201 with a presigned URL for exactly `contentLength` bytes and the `payloadRef` to submit afterwards. */
async function upload(request: HttpRequest, deps: ApiDeps): Promise<HttpResponse> {
  const parsed = UploadBody.safeParse(parseJsonBody(request, deps.maxBodyBytes));
  if (!parsed.success) {
    throw new ValidationError('InvalidRequest', 'The request body is not a valid upload request.', [
      ...issuesToDetails(parsed.error.issues),
    ]);
  }
  return jsonResponse(201, await createUpload({ ownerId: callerOf(request), ...parsed.data }, deps));
}

/** 200 when the task is cancelled now, 202 when a running task has been asked to stop. */
async function cancel(request: HttpRequest, deps: ApiDeps): Promise<HttpResponse> {
  const task = await cancelTask({ ownerId: callerOf(request), taskId: request.pathParameters.taskId ?? '' }, deps);
  return jsonResponse(isTerminal(task.status) ? 200 : 202, toTaskView(task), taskHeaders(task, deps));
}

/** The caller's own signing secret: the owner comes from the authorizer, so nobody can ask for another's. */
async function callbackSecret(request: HttpRequest, deps: ApiDeps): Promise<HttpResponse> {
  const ownerId = callerOf(request);
  if (!deps.callbackSecret) throw new NotFoundError('This deployment does not send callbacks.');
  return jsonResponse(200, { secret: await deps.callbackSecret(ownerId) });
}

/** Unfinished tasks tell the caller when to poll again. */
function taskHeaders(task: Task, deps: ApiDeps, extra: Record<string, string> = {}): Record<string, string> {
  return isTerminal(task.status) ? extra : { ...extra, 'retry-after': String(deps.retryAfterSeconds) };
}

/** Requests no route matched ($default): 405 for a known path with another method, else 404. */
function unmatched(request: HttpRequest): HttpResponse {
  if (request.routeKey !== DEFAULT_ROUTE) throw new NotFoundError(`No route for ${request.routeKey}.`);
  const allowed = methodsForPath(request.path);
  if (allowed.length > 0 && !allowed.includes(request.method)) throw new MethodNotAllowedError(allowed);
  // The path is the caller's input: echo only its start.
  const path = request.path.length > 100 ? `${request.path.slice(0, 100)}…` : request.path;
  throw new NotFoundError(`No route for ${request.method.slice(0, 16)} ${path}.`);
}
