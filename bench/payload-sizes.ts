import { setTimeout as sleep } from 'node:timers/promises';
import { settings as defaultSettings, type Settings } from '../infra/settings.js';
import { type CostInputs, type CostLine, costPerMillionTasks } from './cost.js';
import type { HttpClient } from './http-client.js';
import type { CallCounts, SdkCallCounter } from './sdk-counter.js';
import { median, round } from './stats.js';

/** Payload sizes the cost is reported for, in KB (`costPerMillionUsdByPayloadKB`). */
export const PAYLOAD_SIZES_KB = [1, 10, 100, 1000] as const;

/** The diagnostic type that takes a large text and answers a small result (functions/tasks/diagnostic.ts). */
const TASK_TYPE = 'bulk';
/** The caller's own PUT to a presigned URL: not an SDK call of ours, so the bench counts it by hand. */
const PRESIGNED_PUT = 'S3 PutObject (presigned, by the caller)';

/** How a payload of that size travels: in the body and the item, in the body and then the bucket, uploaded. */
export type PayloadPath = 'inline' | 'bucket' | 'upload';

/** One payload size measured end to end: what the cost model needs, from tasks run one at a time. */
export interface PayloadSizeMeasurement {
  readonly kb: number;
  readonly path: PayloadPath;
  readonly tasks: number;
  readonly requestsPerTask: Record<string, number>;
  readonly workerInvocationsPerTask: number;
  readonly itemBytes: { readonly queued: number; readonly running: number; readonly finished: number };
  readonly apiRequestsPerTask: number;
  readonly s3StoredBytesPerTask: number;
  /** p50 of the submitting calls together (upload URL + submit), of the poll, and claim → finish in the worker. */
  readonly durationsMs: { readonly submit: number; readonly poll: number; readonly worker: number };
}

export interface PayloadSizeContext {
  readonly http: HttpClient;
  readonly counter: SdkCallCounter;
  /** Per task, by `service operation`, from a window of counts (bench/run.ts). */
  readonly perTask: (
    counts: CallCounts,
    tasks: number,
  ) => { byOperation: Record<string, number>; workerInvocationsPerTask: number };
  /** Counts a message the worker will delete, and waits until it has. */
  readonly enqueued: () => void;
  readonly drained: () => Promise<void>;
  readonly settings?: Settings;
}

/** A payload whose JSON takes exactly `kb` KB: `{"text":"xxx…"}`. */
const payloadOfKb = (kb: number) => ({ text: 'x'.repeat(kb * 1024 - '{"text":""}'.length) });

/**
 * Submits `tasks` tasks of each payload size one after another (as a client would: in the body while
 * it fits a request, else through `POST /tasks/uploads` and a presigned PUT), waits for each to
 * succeed, polls it once, and counts every request on the way.
 */
export async function measurePayloadSizes(
  tasks: number,
  context: PayloadSizeContext,
): Promise<PayloadSizeMeasurement[]> {
  const results: PayloadSizeMeasurement[] = [];
  for (const kb of PAYLOAD_SIZES_KB) results.push(await measureOne(kb, tasks, context));
  return results;
}

async function measureOne(kb: number, tasks: number, context: PayloadSizeContext): Promise<PayloadSizeMeasurement> {
  const s = context.settings ?? defaultSettings;
  const { http, counter } = context;
  const payload = payloadOfKb(kb);
  const payloadBytes = kb * 1024;
  const upload = Buffer.byteLength(JSON.stringify({ type: TASK_TYPE, payload })) > s.api.maxBodyBytes;
  const path: PayloadPath = upload ? 'upload' : payloadBytes > s.taskData.inlineMaxBytes ? 'bucket' : 'inline';
  // Where this size's samples start in the counter's lists.
  const marks = {
    queued: counter.itemBytes.queued.length,
    running: counter.itemBytes.running.length,
    finished: counter.itemBytes.finished.length,
    claims: counter.claimToFinishMs.length,
  };
  const before = counter.snapshot();
  const submitMs: number[] = [];
  const pollMs: number[] = [];
  let polls = 0;
  for (let i = 0; i < tasks; i++) {
    const start = performance.now();
    const taskId = upload ? await submitByUpload(http, payload) : await submitInBody(http, payload);
    submitMs.push(performance.now() - start);
    context.enqueued();
    // Polled until done (a task may finish before its POST has returned); the last poll is the one the model prices.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const pollStart = performance.now();
      const view = await http.send('GET', `/tasks/${taskId}`);
      const pollEnd = performance.now();
      polls++;
      if (view.status !== 200) throw new Error(`GET /tasks/${taskId} answered ${view.status}: ${view.body}`);
      if ((JSON.parse(view.body) as { status: string }).status === 'SUCCEEDED') {
        pollMs.push(pollEnd - pollStart);
        break;
      }
      if (Date.now() > deadline) throw new Error(`${kb} KB task ${taskId} did not succeed within 30 s`);
      await sleep(2);
    }
  }
  await context.drained();
  const measured = context.perTask(counter.since(before), tasks);
  const requests = { ...measured.byOperation };
  // Each poll is an owner-scoped Query; the model prices one poll per task itself.
  requests['DynamoDB Query'] = round((requests['DynamoDB Query'] ?? 0) - polls / tasks, 4);
  if (requests['DynamoDB Query'] === 0) delete requests['DynamoDB Query'];
  if (upload) requests[PRESIGNED_PUT] = 1;
  const largest = (list: readonly number[], from: number) => Math.max(0, ...list.slice(from));
  return {
    kb,
    path,
    tasks,
    requestsPerTask: requests,
    workerInvocationsPerTask: measured.workerInvocationsPerTask,
    itemBytes: {
      queued: largest(counter.itemBytes.queued, marks.queued),
      running: largest(counter.itemBytes.running, marks.running),
      finished: largest(counter.itemBytes.finished, marks.finished),
    },
    apiRequestsPerTask: upload ? 3 : 2,
    s3StoredBytesPerTask: path === 'inline' ? 0 : payloadBytes,
    durationsMs: {
      submit: median(submitMs),
      poll: median(pollMs),
      worker: median(counter.claimToFinishMs.slice(marks.claims)),
    },
  };
}

async function submitInBody(http: HttpClient, payload: unknown): Promise<string> {
  const response = await http.send('POST', '/tasks', { type: TASK_TYPE, payload });
  if (response.status !== 202) throw new Error(`POST /tasks answered ${response.status}: ${response.body}`);
  return (JSON.parse(response.body) as { taskId: string }).taskId;
}

/** What the client does with a payload too large for a body: an upload URL, a PUT to it, a submit by reference. */
async function submitByUpload(http: HttpClient, payload: unknown): Promise<string> {
  const body = Buffer.from(JSON.stringify(payload));
  const reserved = await http.send('POST', '/tasks/uploads', { contentLength: body.length });
  if (reserved.status !== 201) throw new Error(`POST /tasks/uploads answered ${reserved.status}: ${reserved.body}`);
  const { uploadUrl, payloadRef } = JSON.parse(reserved.body) as { uploadUrl: string; payloadRef: string };
  const put = await fetch(uploadUrl, { method: 'PUT', body, headers: { 'content-type': 'application/json' } });
  await put.arrayBuffer();
  if (!put.ok) throw new Error(`the presigned PUT answered ${put.status}`);
  const response = await http.send('POST', '/tasks', { type: TASK_TYPE, payloadRef });
  if (response.status !== 202) throw new Error(`POST /tasks answered ${response.status}: ${response.body}`);
  return (JSON.parse(response.body) as { taskId: string }).taskId;
}

/** The cost of each measured size: the cost model's total and lines. */
export function costByPayloadSize(
  measurements: readonly PayloadSizeMeasurement[],
  base: Omit<
    CostInputs,
    | 'requestsPerTask'
    | 'workerInvocationsPerTask'
    | 'itemBytes'
    | 'durationsMs'
    | 'apiRequestsPerTask'
    | 's3StoredBytesPerTask'
  >,
): Record<
  string,
  { path: PayloadPath; totalUsd: number; lines: CostLine[]; itemBytes: PayloadSizeMeasurement['itemBytes'] }
> {
  return Object.fromEntries(
    measurements.map((m) => {
      const { totalUsd, lines } = costPerMillionTasks({ ...base, ...inputsOf(m) });
      return [String(m.kb), { path: m.path, totalUsd: round(totalUsd, 3), lines, itemBytes: m.itemBytes }];
    }),
  );
}

const inputsOf = (m: PayloadSizeMeasurement) => ({
  requestsPerTask: m.requestsPerTask,
  workerInvocationsPerTask: m.workerInvocationsPerTask,
  itemBytes: m.itemBytes,
  durationsMs: m.durationsMs,
  apiRequestsPerTask: m.apiRequestsPerTask,
  s3StoredBytesPerTask: m.s3StoredBytesPerTask,
});

/** One size of the threshold table: what a payload (or a result) of that size costs kept inline and kept in the bucket. */
export interface ThresholdRow {
  readonly bytes: number;
  readonly payloadInlineUsd: number;
  readonly payloadInBucketUsd: number;
  readonly resultInlineUsd: number;
  readonly resultInBucketUsd: number;
}

/**
 * The model's answer to "where should the inline threshold be": the measured 1 KB task (payload
 * inline) and 10 KB task (payload in the bucket), with the payload's (or a result's) bytes moved to
 * each size. A payload inline is in every write of the task, a result only in the finishing one and
 * the reads after it; in the bucket each costs a PUT, a GET (the worker's; the caller's download) and
 * its storage.
 */
export function thresholdTable(
  measurements: readonly PayloadSizeMeasurement[],
  base: Parameters<typeof costByPayloadSize>[1],
  sizes: readonly number[] = [512, 1024, 1536, 2048, 4096, 8192],
): ThresholdRow[] {
  const inline = measurements.find((m) => m.path === 'inline');
  const bucket = measurements.find((m) => m.path === 'bucket');
  if (!inline || !bucket) return [];
  const cost = (m: PayloadSizeMeasurement, change: Partial<ReturnType<typeof inputsOf>>) =>
    round(costPerMillionTasks({ ...base, ...inputsOf(m), ...change }).totalUsd, 3);
  const shift = (item: PayloadSizeMeasurement['itemBytes'], by: number, all: boolean) => ({
    queued: all ? item.queued + by : item.queued,
    running: all ? item.running + by : item.running,
    finished: item.finished + by,
  });
  const inlinePayloadBytes = inline.kb * 1024;
  // The bucket run's item keeps a reference; a small result stays inline in both.
  const withResultInBucket = {
    ...bucket.requestsPerTask,
    'S3 PutObject (result)': 1,
    'S3 GetObject (result, by the caller)': 1,
  };
  return sizes.map((bytes) => ({
    bytes,
    payloadInlineUsd: cost(inline, { itemBytes: shift(inline.itemBytes, bytes - inlinePayloadBytes, true) }),
    payloadInBucketUsd: cost(bucket, { s3StoredBytesPerTask: bytes }),
    resultInlineUsd: cost(bucket, { itemBytes: shift(bucket.itemBytes, bytes, false) }),
    resultInBucketUsd: cost(bucket, {
      requestsPerTask: withResultInBucket,
      s3StoredBytesPerTask: bucket.s3StoredBytesPerTask + bytes,
    }),
  }));
}
