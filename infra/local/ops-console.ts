import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type TaskError, type TaskProgress, TaskStatus } from '../../shared/task.js';
import { ConsoleMetrics, type QueueDepth } from './console-metrics.js';
import type { EmfEvent } from './emf-capture.js';
import type { LocalResources } from './provision.js';

/** The console's paths, served by the local HTTP front ahead of the API routes. */
export const CONSOLE_PATHS = { page: '/console', state: '/console/state' } as const;

export interface OpsConsoleOptions {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  readonly resources: LocalResources;
  /** How often queue depth is sampled for the chart. @default 2000 */
  readonly sampleIntervalMs?: number;
  readonly onError?: (error: unknown) => void;
}

export interface OpsConsole {
  /** Feeds the EMF events the functions printed. */
  readonly addMetricEvents: (events: EmfEvent[]) => void;
  /** Serves the console's paths; false for any other request. */
  handle(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
  stop(): void;
}

interface TaskRow {
  readonly taskId: string;
  readonly type: string;
  readonly status: TaskStatus;
  readonly attempt: number;
  readonly updatedAt: string;
  readonly progress?: TaskProgress;
  readonly error?: TaskError;
  readonly expiresAt: number;
}

const LISTED = 20;
const require = createRequire(import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  [CONSOLE_PATHS.page]: { file: new URL('./console/console.html', import.meta.url).pathname, type: 'text/html' },
  '/console/console.js': { file: new URL('./console/console.js', import.meta.url).pathname, type: 'text/javascript' },
  '/console/uPlot.min.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript' },
  '/console/uPlot.min.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
};

/**
 * The local stack's operations console: a static page and one JSON document with the picture the
 * CloudWatch dashboard gives in AWS. Metrics come from the functions' EMF lines; queue depth from
 * GetQueueAttributes; tasks by status from a table scan (fine for a local table, not for production).
 *
 * No authentication: it exists only in the local stack, bound to loopback by default, and a page a
 * browser navigates to cannot send a Bearer token. It answers loopback Host names only, so a rebound DNS
 * name cannot read it from another site. It shows ids, types, states and error codes of every
 * owner's tasks, never payloads or results.
 */
export function startOpsConsole(options: OpsConsoleOptions): OpsConsole {
  const metrics = new ConsoleMetrics();
  const documents = DynamoDBDocumentClient.from(options.dynamodb);
  const sample = () =>
    queueDepth(options).then(
      (depth) => metrics.addQueueSample(depth),
      (error: unknown) => options.onError?.(error),
    );
  const timer = setInterval(sample, options.sampleIntervalMs ?? 2_000);
  timer.unref();
  void sample();

  return {
    addMetricEvents: (events) => metrics.add(events),
    async handle(request, response) {
      const path = new URL(request.url ?? '/', 'http://local').pathname.replace(/\/$/, '') || '/';
      if (path !== CONSOLE_PATHS.state && !(path in ASSETS)) return false;
      if (!isLoopbackHost(request.headers.host)) {
        // DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 is same-origin with
        // "the console" to the browser, but its requests still say Host: evil.example.
        response
          .writeHead(403, { 'content-type': 'text/plain' })
          .end('Forbidden: the console answers loopback names only');
        return true;
      }
      if (request.method !== 'GET') {
        response.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('Method Not Allowed');
        return true;
      }
      if (path === CONSOLE_PATHS.state) {
        const [tasks] = await Promise.all([scanTasks(documents, options.resources.tableName), sample()]);
        const body = JSON.stringify({ generatedAt: new Date().toISOString(), metrics: metrics.snapshot(), tasks });
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
        return true;
      }
      const asset = ASSETS[path];
      if (!asset) return false;
      response.writeHead(200, { 'content-type': `${asset.type}; charset=utf-8` }).end(await readFile(asset.file));
      return true;
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * Whether a Host header names this machine's loopback interface: `localhost`, `127.x.x.x` or `[::1]`, with
 * or without a port. Anything else (no header, another name) is refused by the console.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(host.trim().toLowerCase());
  if (!match) return false;
  const [, ipv6, name] = match;
  if (ipv6 !== undefined) return ipv6 === '::1';
  return name === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name ?? '');
}

async function queueDepth(options: OpsConsoleOptions): Promise<QueueDepth> {
  const attributes = (queueUrl: string) =>
    options.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] })).then(
      ({ Attributes = {} }) =>
        (name: keyof typeof Attributes) =>
          Number(Attributes[name] ?? 0),
    );
  const [queue, deadLetter] = await Promise.all([
    attributes(options.resources.queueUrl),
    attributes(options.resources.deadLetterQueueUrl),
  ]);
  return {
    visible: queue('ApproximateNumberOfMessages'),
    inFlight: queue('ApproximateNumberOfMessagesNotVisible'),
    delayed: queue('ApproximateNumberOfMessagesDelayed'),
    deadLetter: deadLetter('ApproximateNumberOfMessages'),
  };
}

/** Tasks by status, the unfinished ones with their progress, and the latest failures. */
async function scanTasks(documents: DynamoDBDocumentClient, tableName: string) {
  const rows: TaskRow[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: 'taskId, #type, #status, attempt, updatedAt, progress, #error, expiresAt',
        ExpressionAttributeNames: { '#type': 'type', '#status': 'status', '#error': 'error' },
        ExclusiveStartKey: startKey,
      }),
    );
    rows.push(...((page.Items ?? []) as TaskRow[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  // dynalite never applies TTL: treat expired items as gone, as the API does.
  const nowSeconds = Date.now() / 1000;
  const live = rows.filter((row) => row.expiresAt > nowSeconds);
  const newestFirst = (a: TaskRow, b: TaskRow) => b.updatedAt.localeCompare(a.updatedAt);
  const summary = ({ taskId, type, status, attempt, updatedAt, progress, error }: TaskRow) => ({
    taskId,
    type,
    status,
    attempt,
    updatedAt,
    ...(progress && { progress }),
    ...(error && { error }),
  });
  return {
    byStatus: Object.fromEntries(
      Object.values(TaskStatus).map((status) => [status, live.filter((row) => row.status === status).length]),
    ),
    unfinished: live
      .filter((row) => row.status === TaskStatus.Queued || row.status === TaskStatus.Running)
      .sort(newestFirst)
      .slice(0, LISTED)
      .map(summary),
    recentFailures: live
      .filter((row) => row.status === TaskStatus.Failed)
      .sort(newestFirst)
      .slice(0, LISTED)
      .map(summary),
  };
}
