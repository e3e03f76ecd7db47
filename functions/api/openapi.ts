import { API_ROUTES, type ApiRouteKey, BATCH_LIMITS, PUBLIC_ROUTES } from '../../shared/api-routes.js';
import * as z from '../../shared/zod.js';
import type { TaskDefinition, TaskRegistry } from '../tasks/define-task.js';
import {
  BatchSubmitResponseSchema,
  ErrorBodySchema,
  GatewayErrorSchema,
  TaskListingSchema,
  TaskStatusSchema,
  TaskSummarySchema,
  TasksByIdsSchema,
  TaskViewSchema,
  UploadTicketSchema,
} from './response-schemas.js';
import { ScheduleListingSchema, ScheduleViewSchema } from './schedule-response-schemas.js';
import { CreateScheduleBody, ListSchedulesQuery, UpdateScheduleBody } from './schedule-schemas.js';
import { BatchSubmitItem, ListQuery, SubmitBody, UploadBody } from './schemas.js';

type JsonObject = Record<string, unknown>;

/** Version of the HTTP contract (not of the package): bump it when the API changes. */
export const API_VERSION = '1.0.0';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

const documents = new WeakMap<TaskRegistry, JsonObject>();

/** The document for the task types this API registers, built once per registry. */
export function openApiDocumentFor(registry: TaskRegistry): JsonObject {
  let document = documents.get(registry);
  if (!document) {
    document = buildOpenApiDocument(registry);
    documents.set(registry, document);
  }
  return document;
}

/**
 * The API's OpenAPI 3.1 document, generated from the zod schemas the API validates with
 * (functions/api/schemas.ts) and the payload schemas of `taskTypes`. `npm run openapi` writes it to
 * docs/openapi.json; the API serves it at `GET /openapi.json` for the task types it registers.
 */
export function buildOpenApiDocument(taskTypes: Iterable<readonly [string, TaskDefinition]>): JsonObject {
  const schemas = {
    ...submitRequestSchemas([...taskTypes], SubmitBody, { union: 'SubmitRequest', variant: 'Submit' }),
    ...submitRequestSchemas([...taskTypes], BatchSubmitItem, { union: 'BatchItem', variant: 'BatchItem' }),
    ...toJsonSchemas(
      {
        SubmitByReferenceRequest: z.extend(z.omit(SubmitBody, { payload: true }), {
          payloadRef: z.string().check(z.minLength(1), z.maxLength(64)),
        }),
        BatchItemByReference: z.extend(z.omit(BatchSubmitItem, { payload: true }), {
          payloadRef: z.string().check(z.minLength(1), z.maxLength(64)),
        }),
        UploadRequest: UploadBody,
      },
      'input',
    ),
    ...toJsonSchemas(
      {
        TaskStatus: TaskStatusSchema,
        TaskView: TaskViewSchema,
        TaskSummary: TaskSummarySchema,
        TaskListing: TaskListingSchema,
        UploadTicket: UploadTicketSchema,
        TasksByIds: TasksByIdsSchema,
        BatchSubmitResponse: BatchSubmitResponseSchema,
        ErrorBody: ErrorBodySchema,
        GatewayError: GatewayErrorSchema,
        ScheduleView: ScheduleViewSchema,
        ScheduleListing: ScheduleListingSchema,
      },
      'output',
    ),
    ...toJsonSchemas({ CreateScheduleRequest: CreateScheduleBody, UpdateScheduleRequest: UpdateScheduleBody }, 'input'),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'offload',
      version: API_VERSION,
      description:
        'Serverless background tasks: submit a task, get its id at once, poll for the result. ' +
        'Unknown paths answer 404 and other methods on a known path 405, both in the `ErrorBody` format.',
    },
    security: [{ bearerAuth: [] }],
    paths: paths(),
    components: {
      schemas,
      responses: errorResponses(),
      headers: {
        RetryAfter: {
          description: 'Seconds to wait before polling (task not finished) or retrying (503, 429).',
          schema: { type: 'integer', minimum: 0 },
        },
        Location: { description: 'Path of the task.', schema: { type: 'string' } },
      },
      parameters: {
        TaskId: { name: 'taskId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
        ScheduleName: {
          name: 'name',
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
        },
      },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A JWT from the stack’s issuer; tasks belong to its `sub`. (IAM-auth deployments sign with SigV4.)',
        },
      },
    },
  };
}

/**
 * `SubmitRequest`: one variant per task type (`Submit<Type>Task`), discriminated on `type`, each the
 * envelope of SubmitBody with that type's payload schema. `BatchItem` likewise, from a batch's item
 * (`BatchItem<Type>Task`, with its idempotencyKey).
 */
function submitRequestSchemas(
  taskTypes: ReadonlyArray<readonly [string, TaskDefinition]>,
  envelope: typeof SubmitBody | typeof BatchSubmitItem,
  names: { readonly union: string; readonly variant: string },
): Record<string, JsonObject> {
  const variants: Record<string, z.ZodMiniObject> = {};
  const mapping: Record<string, string> = {};
  for (const [name, definition] of taskTypes) {
    // SubmitBody defaults a missing payload to {}: say so where the type accepts it.
    const payload = z.safeParse(definition.payload, {}).success
      ? z.optional(definition.payload).register(z.globalRegistry, { description: 'Defaults to `{}`.' })
      : definition.payload;
    const id = `${names.variant}${name.replace(/(?:^|[^A-Za-z0-9]+)([A-Za-z0-9])/g, (_match, letter: string) => letter.toUpperCase())}Task`;
    variants[id] = z.extend(z.omit(envelope as typeof SubmitBody, { payloadRef: true }), {
      type: z.literal(name),
      payload,
    });
    mapping[name] = ref(id).$ref;
  }
  const [first, ...rest] = Object.values(variants);
  if (!first) throw new Error('An API without task types has nothing to describe.');
  const schemas = toJsonSchemas(
    { [names.union]: z.discriminatedUnion('type', [first, ...rest]), ...variants },
    'input',
  );
  return { ...schemas, [names.union]: { ...schemas[names.union], discriminator: { propertyName: 'type', mapping } } };
}

function paths(): JsonObject {
  // Keyed by every route key: a new route does not compile until it is described here.
  const operations: Record<ApiRouteKey, JsonObject> = {
    [API_ROUTES.submitTask]: {
      operationId: 'submitTask',
      summary: 'Submit a task',
      description:
        'Records the task and enqueues it. With an `Idempotency-Key`, the same key and body return the same task ' +
        '(200) and another body answers 409; a retry after 503 or a network error is then safe.',
      parameters: [
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          schema: { type: 'string', minLength: 1, maxLength: 255 },
        },
      ],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: { oneOf: [ref('SubmitRequest'), ref('SubmitByReferenceRequest')] } },
        },
      },
      responses: {
        '200': taskResponse('Replay of an earlier submission with the same Idempotency-Key.'),
        '202': taskResponse('Recorded and enqueued.', ['Location', 'RetryAfter']),
        ...pick('400', '401', '403', '405', '409', '413', '415', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.createUpload]: {
      operationId: 'createUpload',
      summary: 'Get a URL to upload a payload too large for a request body',
      description:
        'Answers a presigned PUT URL for exactly `contentLength` bytes (up to the deployment’s limit, 100 MB by default), ' +
        'valid for minutes. PUT the payload’s JSON there, then submit `{"type", "payloadRef"}`. A reference that is ' +
        'not yours, missing, expired or not valid JSON for the type answers 400 and records nothing.',
      requestBody: { required: true, content: json(ref('UploadRequest')) },
      responses: {
        '201': { description: 'Upload there, then submit the reference.', content: json(ref('UploadTicket')) },
        ...pick('400', '401', '403', '405', '413', '415', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.submitTasks]: {
      operationId: 'submitTasks',
      summary: 'Submit several tasks at once',
      description:
        `1 to ${BATCH_LIMITS.tasks} submissions within the usual body limit. Each item is checked, recorded and ` +
        'enqueued on its own (its `idempotencyKey` works as the header does for one task) and gets one result, in ' +
        'order: 202 when all were accepted, 207 when some were not; an item that failed left nothing behind. An ' +
        'empty or oversized batch, two items with one key, or a batch over the rate limit: the whole request is ' +
        'refused and nothing recorded.',
      requestBody: {
        required: true,
        content: json({
          type: 'object',
          properties: {
            tasks: {
              type: 'array',
              minItems: 1,
              maxItems: BATCH_LIMITS.tasks,
              items: { oneOf: [ref('BatchItem'), ref('BatchItemByReference')] },
            },
          },
          required: ['tasks'],
          additionalProperties: false,
        }),
      },
      responses: {
        '202': { description: 'Every item was accepted.', content: json(ref('BatchSubmitResponse')) },
        '207': { description: 'Some items were not: see their `error`.', content: json(ref('BatchSubmitResponse')) },
        ...pick('400', '401', '403', '405', '413', '415', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.listTasks]: {
      operationId: 'listTasks',
      summary: 'List your tasks, newest first; or read several by id',
      description:
        `With \`ids\` (1 to ${BATCH_LIMITS.ids} comma-separated task ids, alone): your tasks among them, each read ` +
        'as `GET /tasks/{taskId}` reads one; another owner’s or an unknown id is absent.',
      parameters: [
        ...queryParameters(ListQuery),
        {
          name: 'ids',
          in: 'query',
          required: false,
          description: 'Comma-separated task ids: answers `TasksByIds` instead of a page.',
          schema: { type: 'string' },
        },
      ],
      responses: {
        '200': {
          description: 'A page of task summaries; with `ids`, the tasks.',
          content: json({ oneOf: [ref('TaskListing'), ref('TasksByIds')] }),
        },
        ...pick('400', '401', '403', '405', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.getTask]: {
      operationId: 'getTask',
      summary: 'Read a task',
      parameters: [{ $ref: '#/components/parameters/TaskId' }],
      responses: {
        '200': taskResponse('The task; `Retry-After` while it is not finished.', ['RetryAfter']),
        ...pick('400', '401', '403', '404', '405', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.cancelTask]: {
      operationId: 'cancelTask',
      summary: 'Cancel a task',
      description: 'A QUEUED task is cancelled at once (200); a RUNNING one is asked to stop (202).',
      parameters: [{ $ref: '#/components/parameters/TaskId' }],
      responses: {
        '200': taskResponse('Cancelled (or already was).'),
        '202': taskResponse('Running: asked to stop (`cancelRequested: true`).', ['RetryAfter']),
        ...pick('400', '401', '403', '404', '405', '409', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.createSchedule]: {
      operationId: 'createSchedule',
      summary: 'Create a schedule',
      description:
        'Each firing submits the task as `POST /tasks` would (idempotent per schedule and scheduled time). ' +
        '`expression` is `cron(minutes hours day-of-month month day-of-week year)` or `rate(value unit)` as ' +
        'EventBridge Scheduler reads them, in `timezone` (default UTC). 400 codes: `InvalidExpression`, ' +
        '`InvalidTimeZone`, `InvalidScheduleWindow`, `TooManySchedules`, `UnknownTaskType`, `InvalidPayload`.',
      requestBody: { required: true, content: json(ref('CreateScheduleRequest')) },
      responses: {
        '201': { description: 'Created; it fires from `nextRunAt`.', content: json(ref('ScheduleView')) },
        ...pick('400', '401', '403', '405', '409', '413', '415', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.listSchedules]: {
      operationId: 'listSchedules',
      summary: 'List your schedules, by name',
      parameters: queryParameters(ListSchedulesQuery),
      responses: {
        '200': { description: 'A page of schedule summaries.', content: json(ref('ScheduleListing')) },
        ...pick('400', '401', '403', '405', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.getSchedule]: {
      operationId: 'getSchedule',
      summary: 'Read a schedule',
      parameters: [{ $ref: '#/components/parameters/ScheduleName' }],
      responses: {
        '200': { description: 'The schedule.', content: json(ref('ScheduleView')) },
        ...pick('400', '401', '403', '404', '405', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.updateSchedule]: {
      operationId: 'updateSchedule',
      summary: 'Change a schedule',
      description: 'Any of `expression`, `timezone`, `task`, `enabled`; the others stay as they are.',
      parameters: [{ $ref: '#/components/parameters/ScheduleName' }],
      requestBody: { required: true, content: json(ref('UpdateScheduleRequest')) },
      responses: {
        '200': { description: 'The schedule as it is now.', content: json(ref('ScheduleView')) },
        ...pick('400', '401', '403', '404', '405', '409', '413', '415', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.deleteSchedule]: {
      operationId: 'deleteSchedule',
      summary: 'Delete a schedule',
      description: 'It fires no more; tasks it submitted stay.',
      parameters: [{ $ref: '#/components/parameters/ScheduleName' }],
      responses: {
        '204': { description: 'Deleted.' },
        ...pick('400', '401', '403', '404', '405', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.openApi]: {
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      responses: {
        '200': { description: 'The OpenAPI document.', content: json({ type: 'object' }) },
        ...pick('400', '405', '429', '431', '500'),
      },
    },
    [API_ROUTES.callbackSecret]: {
      operationId: 'getCallbackSecret',
      summary: 'Your callback signing secret',
      description:
        'The secret (Standard Webhooks `whsec_…`) that signs the callbacks of your tasks: verify `webhook-signature` ' +
        'with it. Each caller gets its own; during a key rotation callbacks carry a signature of the previous one too.',
      responses: {
        '200': {
          description: 'The caller’s current secret.',
          content: json({
            type: 'object',
            properties: { secret: { type: 'string', pattern: '^whsec_' } },
            required: ['secret'],
          }),
        },
        ...pick('400', '401', '403', '404', '405', '429', '431', '500', '503'),
      },
    },
    [API_ROUTES.health]: {
      operationId: 'getHealth',
      summary: 'Liveness of the API function',
      description: 'Touches neither the table nor the queue.',
      responses: {
        '200': {
          description: 'The function runs.',
          content: json({ type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] }),
        },
        ...pick('400', '405', '429', '431', '500'),
      },
    },
  };
  const result: Record<string, JsonObject> = {};
  for (const [routeKey, operation] of Object.entries(operations)) {
    const [method = '', path = ''] = routeKey.split(' ');
    const isPublic = PUBLIC_ROUTES.has(routeKey as ApiRouteKey);
    result[path] = { ...result[path], [method.toLowerCase()]: { ...operation, ...(isPublic && { security: [] }) } };
  }
  return result;
}

const json = (schema: unknown) => ({ 'application/json': { schema } });

function taskResponse(description: string, headers: readonly string[] = []): JsonObject {
  return {
    description,
    ...(headers.length > 0 && {
      headers: Object.fromEntries(
        headers.map((name) => [name === 'RetryAfter' ? 'Retry-After' : name, { $ref: `#/components/headers/${name}` }]),
      ),
    }),
    content: json(ref('TaskView')),
  };
}

const ERROR_RESPONSES: Record<
  string,
  { readonly name: string; readonly description: string; readonly gateway?: true }
> = {
  '400': {
    name: 'BadRequest',
    description:
      '`InvalidJson`, `InvalidRequest`, `UnknownTaskType`, `InvalidPayload`, `InvalidPayloadRef`, `InvalidCallbackUrl`, …',
  },
  '401': { name: 'Unauthorized', description: 'No or bad credentials (`WWW-Authenticate: Bearer`).' },
  '403': {
    name: 'Forbidden',
    description: 'Verified credentials of a kind no owner can be given to (a JWT without `sub`, a federated user).',
  },
  '404': {
    name: 'NotFound',
    description: 'Unknown, expired or another owner’s task or schedule (indistinguishable).',
  },
  '405': { name: 'MethodNotAllowed', description: 'The path exists but not with this method; see `Allow`.' },
  '409': {
    name: 'Conflict',
    description:
      'The task already finished, the Idempotency-Key was used with another body, or the schedule name is taken.',
  },
  '413': { name: 'PayloadTooLarge', description: 'The body is over the API’s limit.' },
  '415': { name: 'UnsupportedMediaType', description: 'The body was not sent as `application/json`.' },
  '429': {
    name: 'TooManyRequests',
    description:
      'Throttled by API Gateway, or (`RateLimited`) over the owner’s submit rate limit: retry after `Retry-After`.',
  },
  '431': { name: 'RequestHeadersTooLarge', description: 'The request line and headers are over 10 KiB.' },
  '500': { name: 'InternalError', description: 'Quote the `requestId` when reporting it.' },
  '503': {
    name: 'ServiceUnavailable',
    description: 'The table or queue could not be reached; nothing was recorded. Retry after `Retry-After`.',
  },
};

function errorResponses(): JsonObject {
  const errorBody = json(ref('ErrorBody'));
  const eitherBody = json({ oneOf: [ref('ErrorBody'), ref('GatewayError')] });
  return Object.fromEntries(
    Object.entries(ERROR_RESPONSES).map(([status, { name, description, gateway }]) => [
      name,
      {
        description,
        ...(status === '405' && { headers: { Allow: { schema: { type: 'string' } } } }),
        ...((status === '503' || status === '429') && {
          headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } },
        }),
        // API Gateway answers some of these itself, before the API function runs, in its own format.
        content: gateway
          ? json(ref('GatewayError'))
          : ['401', '413', '429', '500'].includes(status)
            ? eitherBody
            : errorBody,
      },
    ]),
  );
}

const pick = (...statuses: string[]): JsonObject =>
  Object.fromEntries(statuses.map((status) => [status, responseRef(ERROR_RESPONSES[status]?.name ?? '')]));

function queryParameters(schema: z.ZodMiniObject): JsonObject[] {
  const { properties = {}, required = [] } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.includes(name),
    schema: property,
  }));
}

/**
 * zod schemas → components.schemas. Schemas used by several others come out as refs; zod puts
 * anonymous shared ones (e.g. the recursive JSON value) under `__shared.$defs`, which is hoisted here
 * so every ref points straight into components.schemas.
 */
function toJsonSchemas(named: Record<string, z.core.$ZodType>, io: 'input' | 'output'): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, JsonObject> };
  const { __shared: shared, ...rest } = schemas;
  // Shared parts get a name after the first schema, so the input and output sets cannot collide.
  const prefix = `${Object.keys(named)[0]}Part`;
  const sharedDefs = Object.entries((shared?.$defs as Record<string, JsonObject> | undefined) ?? {});
  const hoisted = {
    ...rest,
    ...Object.fromEntries(sharedDefs.map(([name, schema]) => [prefix + name.replace(/^schema/, ''), schema])),
  };
  const rewritten = JSON.parse(JSON.stringify(hoisted), (key, value: unknown) => {
    if (key === '$ref' && typeof value === 'string') {
      return value.replace(/^#\/components\/schemas\/__shared#\/\$defs\/(schema)?/, `#/components/schemas/${prefix}`);
    }
    return value;
  }) as Record<string, JsonObject>;
  return Object.fromEntries(
    Object.entries(rewritten).map(([name, { $schema: _schema, $id: _id, ...schema }]) => [name, schema]),
  );
}
