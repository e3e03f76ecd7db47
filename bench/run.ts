import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { generateDevKey, mintDevToken } from '../infra/local/dev-key.js';
import { startLocalStack } from '../infra/local/local-stack.js';
import { settings } from '../infra/settings.js';
import { createDocumentClient, createSqsClient, onSdkClientCreated } from '../shared/aws/clients.js';
import { DynamoTaskStore } from '../shared/aws/dynamo-task-store.js';
import { SqsTaskQueue } from '../shared/aws/sqs-task-queue.js';
import { loadConfig } from '../shared/config.js';
import type { Task } from '../shared/task.js';
import { serializeTaskMessage } from '../shared/task-message.js';
import { expiresAtAfter } from '../shared/time.js';
import { measureColdStart } from './cold-start.js';
import { callbackCostPerMillion, costPerMillionTasks } from './cost.js';
import { HttpClient } from './http-client.js';
import { costByPayloadSize, measurePayloadSizes, PAYLOAD_SIZES_KB, thresholdTable } from './payload-sizes.js';
import { formatColdStart, printReport, type Report } from './report.js';
import { perTask, sumRequests } from './request-counts.js';
import { type CallOrigin, SdkCallCounter } from './sdk-counter.js';
import { median, percentiles, round, timedPool } from './stats.js';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, scenario: { type: 'string' } },
});

const SIZES = args.quick
  ? {
      warmup: 50,
      submit: 160,
      pickup: 30,
      throughput: 400,
      ceilingMs: 1_500,
      coldStartRuns: 3,
      callbacks: 400,
      perPayloadSize: 10,
    }
  : {
      warmup: 200,
      submit: 2_000,
      pickup: 300,
      throughput: 5_000,
      ceilingMs: 8_000,
      coldStartRuns: 21,
      callbacks: 2_000,
      perPayloadSize: 50,
    };
const CONCURRENCY = 16;
/** The throughput run keeps up to 16 submits and one call per mapping poller in flight: the ceiling gets as many lanes. */
const CEILING_LANES = CONCURRENCY + settings.worker.maxConcurrency;
const TASK_TYPE = 'echo';

const progress = (text: string) => process.stderr.write(`[bench] ${text}\n`);

// Scenarios of their own, each with its own results file: they leave bench/results/latest.json alone.
if (args.scenario !== undefined) {
  if (args.scenario === 'priority') await (await import('./priority.js')).priorityScenario({ quick: args.quick });
  else if (args.scenario === 'capacity')
    await (await import('./capacity-check.js')).capacityScenario({ quick: args.quick });
  else if (args.scenario === 'fairness') await (await import('./fairness.js')).runFairnessScenario();
  else throw new Error(`--scenario takes priority, capacity or fairness, not ${args.scenario}`);
  process.exit(0);
}

// For iterating on bundles: prints the cold-start table only and leaves bench/results/latest.json alone.
if (args.only !== undefined) {
  if (args.only !== 'cold-start') throw new Error(`--only takes cold-start, not ${args.only}`);
  progress(`cold start only: bundling as deployed, then ${SIZES.coldStartRuns} fresh processes per bundle`);
  console.log(formatColdStart(await measureColdStart(SIZES.coldStartRuns)));
  process.exit(0);
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

// The seam must be in place before the stack builds the handlers: their factories build the SDK clients.
const counter = new SdkCallCounter();
let nextClientOrigin: CallOrigin | undefined;
onSdkClientCreated((client, origin) => counter.attach(client, nextClientOrigin ?? origin));

const startedAt = new Date();
const loadAtStart = round(loadavg()[0] ?? 0);
progress(`${args.quick ? 'quick' : 'full'} run: starting the local stack`);
const devKey = await generateDevKey();
// Inline worker: the SDK call counters attach to the clients of this process (threads have their own).
// Diagnostic types too: the payload-size phase runs `bulk` (a large text in, a small result out).
const stack = await startLocalStack({
  port: 0,
  logLevel: 'SILENT',
  devKey,
  workerIsolation: 'inline',
  // The callback phases' receiver listens on 127.0.0.1.
  allowLocalCallbacks: true,
  diagnosticTasks: true,
});
const token = await mintDevToken(devKey, { sub: 'bench' });
const http = new HttpClient(stack.url, CONCURRENCY * 2, { authorization: `Bearer ${token}` });

// The bench's own clients, built by the same factories as the handlers' (same configuration).
const config = loadConfig();
nextClientOrigin = 'bench';
const db = createDocumentClient(config);
const sqs = createSqsClient(config);
const store = new DynamoTaskStore(db, config.tableName);
const queue = new SqsTaskQueue(sqs, config.queueUrl);
nextClientOrigin = undefined;

// Every message sent to the tasks queue is eventually deleted by the mapping: that is how the bench knows the worker caught up.
let enqueued = 0;
let deleted = 0;
counter.onDeleted = (n) => {
  deleted += n;
};
const succeeded = new Map<string, (at: number) => void>();
counter.onSucceeded = (taskId, at) => succeeded.get(taskId)?.(at);

async function drained(timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (deleted < enqueued) {
    if (Date.now() > deadline) throw new Error(`worker did not catch up: ${deleted} of ${enqueued} messages deleted`);
    await sleep(10);
  }
}

async function submit(n: number, callbackUrl?: string): Promise<string> {
  const response = await http.send('POST', '/tasks', { type: TASK_TYPE, payload: { n }, callbackUrl });
  if (response.status !== 202) throw new Error(`POST /tasks answered ${response.status}: ${response.body}`);
  enqueued++;
  return (JSON.parse(response.body) as { taskId: string }).taskId;
}

/** A task as the API records it, for the baselines that skip the API. */
function benchTask(taskId: string, n: number): Task {
  const now = new Date();
  const timestamp = now.toISOString();
  return {
    taskId,
    ownerId: 'jwt:bench',
    type: TASK_TYPE,
    status: 'QUEUED',
    payload: { n },
    payloadHash: randomUUID().replaceAll('-', '').repeat(2),
    attempt: 0,
    maxAttempts: config.defaultMaxAttempts,
    createdAt: timestamp,
    updatedAt: timestamp,
    expiresAt: expiresAtAfter(now, config.ttlDays),
  };
}

/**
 * What the API handler must do for a submit, and nothing else: the conditional put and the send,
 * through the same adapters the API uses, so the baseline measures the writes that ship.
 */
async function bareSubmit(n: number): Promise<void> {
  const task = benchTask(randomUUID(), n);
  await store.create(task, Date.now());
  await queue.enqueue({ taskId: task.taskId, type: TASK_TYPE });
  enqueued++;
}

/** Alternating blocks of POSTs and bare SDK calls, so the noise of a shared machine hits both alike. */
async function submitLatency(concurrency: number) {
  progress(
    `submit latency at concurrency ${concurrency}: ${SIZES.submit} POST /tasks and ${SIZES.submit} bare SDK pairs`,
  );
  const blocks = 10;
  const perBlock = Math.ceil(SIZES.submit / blocks);
  const viaHttp: number[] = [];
  const bare: number[] = [];
  for (let block = 0; block < blocks; block++) {
    viaHttp.push(...(await timedPool(perBlock, concurrency, async (i) => void (await submit(i)))));
    await drained();
    bare.push(...(await timedPool(perBlock, concurrency, bareSubmit)));
    await drained();
  }
  const http = percentiles(viaHttp);
  const sdk = percentiles(bare);
  return { ...http, bare: sdk, ratioP99: round(http.p99 / sdk.p99, 3) };
}

/** Submit → the finishing write has returned (the task reads SUCCEEDED from then on), one task at a time. */
async function pickupLatency() {
  progress(`pickup latency: ${SIZES.pickup} tasks one after another, each polled once`);
  const pickups: number[] = [];
  const polls: number[] = [];
  const before = counter.snapshot();
  for (let i = 0; i < SIZES.pickup; i++) {
    const start = performance.now();
    let resolveDone: (at: number) => void = () => {};
    const done = new Promise<number>((resolve) => {
      resolveDone = resolve;
    });
    const taskId = await submit(i);
    // The worker may finish before the POST returns: register right away, then check what was seen.
    succeeded.set(taskId, resolveDone);
    const at = await Promise.race([done, sleep(30_000).then(() => Number.NaN)]);
    succeeded.delete(taskId);
    if (Number.isNaN(at)) throw new Error(`task ${taskId} did not succeed within 30 s`);
    pickups.push(at - start);
    const pollStart = performance.now();
    const view = await http.send('GET', `/tasks/${taskId}`);
    polls.push(performance.now() - pollStart);
    if (view.status !== 200 || (JSON.parse(view.body) as { status: string }).status !== 'SUCCEEDED') {
      throw new Error(`GET /tasks/${taskId} answered ${view.status}: ${view.body}`);
    }
  }
  await drained();
  return { pickup: percentiles(pickups), poll: percentiles(polls), counts: counter.since(before) };
}

/** The SDK calls of one task's path, without the stack: as fast as these clients and emulators go. */
async function sdkCeiling(): Promise<{ callsPerSecond: number; calls: number }> {
  progress(`SDK call ceiling: ${CEILING_LANES} lanes for ${SIZES.ceilingMs} ms`);
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'bench-ceiling' })); // idempotent
  const queueUrl = QueueUrl ?? '';
  const before = counter.snapshot();
  const start = performance.now();
  const end = start + SIZES.ceilingMs;
  const ceilingQueue = new SqsTaskQueue(sqs, queueUrl);
  await Promise.all(
    Array.from({ length: CEILING_LANES }, async () => {
      for (let n = 0; performance.now() < end; n++) {
        // One task's path through the shipped adapters; receive and delete as the event source mapping makes them.
        const task = benchTask(`bench-ceiling-${randomUUID()}`, n);
        await store.create(task, Date.now());
        await ceilingQueue.enqueue({ taskId: task.taskId, type: TASK_TYPE });
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        const now = new Date();
        await store.claim(task.taskId, now, now.getTime() + 60_000);
        await store.finish(task.taskId, 1, { status: 'SUCCEEDED', result: { n } }, new Date(), task.expiresAt);
        if (Messages.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const calls = sumRequests(counter.since(before));
  return { callsPerSecond: round(calls / seconds, 1), calls };
}

async function throughputRun() {
  progress(
    `throughput: ${SIZES.throughput} tasks at concurrency ${CONCURRENCY}, until the worker has finished them all`,
  );
  gc();
  const rssBefore = process.memoryUsage().rss;
  const before = counter.snapshot();
  const start = performance.now();
  await timedPool(SIZES.throughput, CONCURRENCY, async (i) => void (await submit(i)));
  const submittedMs = performance.now() - start;
  await drained(300_000);
  const seconds = (performance.now() - start) / 1000;
  const counts = counter.since(before);
  gc();
  const rssAfter = process.memoryUsage().rss;
  return { seconds, submittedMs, counts, rssBefore, rssAfter };
}

/** A receiver on 127.0.0.1 answering 204, noting when each task's callback arrived. */
async function startReceiver() {
  const arrived = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.now();
      const taskId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { taskId: string } }).data.taskId;
      arrived.set(taskId, at);
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrived,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
const receiver = await startReceiver();

async function receivedAll(taskIds: readonly string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (taskIds.some((taskId) => !receiver.arrived.has(taskId))) {
    if (Date.now() > deadline) throw new Error('callbacks did not all arrive');
    await sleep(10);
  }
}

/** Terminal write returned → the receiver has the callback, one task at a time (the callback's own latency). */
async function callbackLatency() {
  progress(`callback latency: ${SIZES.pickup} tasks with a callbackUrl, one after another`);
  const finishedAt = new Map<string, number>();
  counter.onSucceeded = (taskId, at) => finishedAt.set(taskId, at);
  const latencies: number[] = [];
  for (let i = 0; i < SIZES.pickup; i++) {
    const taskId = await submit(i, receiver.url);
    // The receiver notes the arrival itself: how soon this loop sees it does not matter.
    await receivedAll([taskId], 30_000);
    latencies.push((receiver.arrived.get(taskId) ?? Number.NaN) - (finishedAt.get(taskId) ?? Number.NaN));
  }
  counter.onSucceeded = (taskId, at) => succeeded.get(taskId)?.(at);
  await drained();
  return percentiles(latencies);
}

/** Tasks with a callback at the throughput run's concurrency: the requests of the callback path, per task. */
async function callbackRun() {
  progress(`callbacks: ${SIZES.callbacks} tasks with a callbackUrl at concurrency ${CONCURRENCY}`);
  const before = counter.snapshot();
  const durationsBefore = counter.deliveryMs.length;
  const taskIds: string[] = [];
  await timedPool(SIZES.callbacks, CONCURRENCY, async (i) => void taskIds.push(await submit(i, receiver.url)));
  await drained();
  await receivedAll(taskIds);
  // The record follows the 2xx: wait until every delivery has written it.
  const deadline = Date.now() + 30_000;
  while (counter.deliveryMs.length - durationsBefore < SIZES.callbacks && Date.now() < deadline) await sleep(10);
  const counts = counter.since(before);
  const n = SIZES.callbacks;
  const at = (key: string) => (counts[key] ?? 0) / n;
  const queue = 'offload-callbacks';
  const receives = at(`local-stack SQS ReceiveMessage ${queue}`) - at(`local-stack SQS ReceiveMessage(empty) ${queue}`);
  const requests = {
    'SQS SendMessage (after the terminal write)': at(`function SQS SendMessage ${queue}`),
    'SQS SendMessageBatch (the worker’s, several tasks per request)': at(`function SQS SendMessageBatch ${queue}`),
    'SQS ReceiveMessage (local poller; the AWS mapping makes it too)': receives,
    'SQS DeleteMessageBatch (local poller; the AWS mapping makes it too)': at(
      `local-stack SQS DeleteMessageBatch ${queue}`,
    ),
    'SQS ChangeMessageVisibility': at(`function SQS ChangeMessageVisibility ${queue}`),
    'DynamoDB GetItem (the delivery reads the task)': at('function DynamoDB GetItem'),
    'DynamoDB UpdateItem (the delivery records it)': at('function DynamoDB UpdateItem(callback)'),
  };
  return {
    requests: Object.fromEntries(Object.entries(requests).map(([k, v]) => [k, round(v, 4)])),
    invocations: round(receives, 4),
    durationMs: median(counter.deliveryMs.slice(durationsBefore)),
    itemBytes: Math.max(...counter.callbackItemBytes),
  };
}

// Warm up the JIT, the sockets and the emulators before measuring anything.
progress(`warm-up: ${SIZES.warmup} tasks`);
await timedPool(SIZES.warmup, CONCURRENCY, async (i) => void (await submit(i)));
await drained();

const submit1 = await submitLatency(1);
const submit16 = await submitLatency(CONCURRENCY);
const pickup = await pickupLatency();
// The ceiling is measured right before and right after the throughput run: the machine's load drifts.
const ceilingBefore = await sdkCeiling();
const throughput = await throughputRun();
const ceilingAfter = await sdkCeiling();
const ceiling = { callsPerSecond: round((ceilingBefore.callsPerSecond + ceilingAfter.callsPerSecond) / 2, 1) };
const callbackLatencyFigures = await callbackLatency();
const callbacks = await callbackRun();
await receiver.stop();
const itemBytes = {
  queued: Math.max(...counter.itemBytes.queued),
  running: Math.max(...counter.itemBytes.running),
  finished: Math.max(...counter.itemBytes.finished),
};
progress(
  `payload sizes: ${SIZES.perPayloadSize} tasks each of ${PAYLOAD_SIZES_KB.join(', ')} KB, one at a time, polled until done`,
);
const payloadSizes = await measurePayloadSizes(SIZES.perPayloadSize, {
  http,
  counter,
  perTask,
  enqueued: () => {
    enqueued++;
  },
  drained,
});
await stack.stop();
http.close();
db.destroy();
sqs.destroy();

const requests = perTask(throughput.counts, SIZES.throughput);
const lowLoadRequests = perTask(pickup.counts, SIZES.pickup);
// The pickup phase polled each task once (GET /tasks/{id} reads with GetItem or an owner-filtered Query): not part of the path.
const pollOperation = lowLoadRequests.byOperation['DynamoDB Query'] ? 'DynamoDB Query' : 'DynamoDB GetItem';
lowLoadRequests.byOperation[pollOperation] = round((lowLoadRequests.byOperation[pollOperation] ?? 0) - 1, 4);
if (lowLoadRequests.byOperation[pollOperation] === 0) delete lowLoadRequests.byOperation[pollOperation];
lowLoadRequests.total = round(
  Object.values(lowLoadRequests.byOperation).reduce((sum, n) => sum + n, 0),
  3,
);
const callsPerTask = round(sumRequests(throughput.counts) / SIZES.throughput, 3);
const tasksPerSecond = round(SIZES.throughput / throughput.seconds, 1);

const costInputs = {
  requestsPerTask: requests.byOperation,
  workerInvocationsPerTask: requests.workerInvocationsPerTask,
  itemBytes,
  indexesWritten: 1,
  consistentPoll: true,
  durationsMs: { submit: submit1.p50, poll: pickup.poll.p50, worker: median(counter.claimToFinishMs) },
  memoryMiB: { api: settings.api.memoryMiB, worker: settings.worker.memoryMiB },
  sqsMessageBytes: serializeTaskMessage({ taskId: randomUUID(), type: TASK_TYPE }).length,
  retentionDays: settings.tasks.ttlDays,
  sweepIntervalMinutes: settings.recovery.intervalMinutes,
};
const cost = costPerMillionTasks(costInputs);
const submitOnly = costPerMillionTasks({ ...costInputs, polls: 0 });
const callbackCost = callbackCostPerMillion({
  sqsRequests: Object.entries(callbacks.requests)
    .filter(([op]) => op.startsWith('SQS'))
    .reduce((sum, [, n]) => sum + n, 0),
  reads: callbacks.requests['DynamoDB GetItem (the delivery reads the task)'] ?? 0,
  writes: callbacks.requests['DynamoDB UpdateItem (the delivery records it)'] ?? 0,
  itemBytes: callbacks.itemBytes,
  invocations: callbacks.invocations,
  durationMs: callbacks.durationMs,
  memoryMiB: settings.callbacks.memoryMiB,
});
// The same model and prices for each payload size, with what that size's tasks did.
const costBase = {
  indexesWritten: 1,
  consistentPoll: true,
  memoryMiB: { api: settings.api.memoryMiB, worker: settings.worker.memoryMiB },
  sqsMessageBytes: serializeTaskMessage({ taskId: randomUUID(), type: 'bulk' }).length,
  retentionDays: settings.tasks.ttlDays,
  sweepIntervalMinutes: settings.recovery.intervalMinutes,
};
const costByPayloadKB = costByPayloadSize(payloadSizes, costBase);

progress(`cold start: bundling as deployed, then ${SIZES.coldStartRuns} fresh processes per bundle`);
const coldStart = await measureColdStart(SIZES.coldStartRuns);

const report: Report = {
  machine: {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: startedAt.toISOString(),
    mode: args.quick ? 'quick' : 'full',
    /** 1-minute load average at start and end: these machines are shared, so read every figure beside it. */
    loadAverage: [loadAtStart, round(loadavg()[0] ?? 0)],
  },
  requestsPerTask: { ...requests, lowLoad: lowLoadRequests },
  costPerMillionUsd: round(cost.totalUsd, 3),
  cost: { lines: cost.lines, itemBytes, prices: 'bench/prices.ts' },
  costPerMillionUsdWithCallback: round(submitOnly.totalUsd + callbackCost.totalUsd, 3),
  costWithCallback: {
    submitOnlyUsd: round(submitOnly.totalUsd, 3),
    onePollUsd: round(cost.totalUsd - submitOnly.totalUsd, 3),
    callbackUsd: round(callbackCost.totalUsd, 3),
    lines: callbackCost.lines,
    requestsPerTask: callbacks.requests,
    itemBytes: callbacks.itemBytes,
    deliveryMs: round(callbacks.durationMs, 2),
    tasks: SIZES.callbacks,
  },
  callbackLatency: callbackLatencyFigures,
  costPerMillionUsdByPayloadKB: Object.fromEntries(
    Object.entries(costByPayloadKB).map(([kb, figure]) => [kb, figure.totalUsd]),
  ),
  payloadSizes: {
    inlineMaxBytes: settings.taskData.inlineMaxBytes,
    bySize: Object.fromEntries(
      payloadSizes.map((m) => [
        String(m.kb),
        {
          ...(costByPayloadKB[String(m.kb)] ?? {}),
          tasks: m.tasks,
          requestsPerTask: m.requestsPerTask,
          durationsMs: m.durationsMs,
        },
      ]),
    ),
    threshold: thresholdTable(payloadSizes, costBase),
  },
  submit: { concurrency1: submit1, concurrency16: submit16, ratioP99: submit16.ratioP99 },
  pickup: {
    p50: pickup.pickup.p50,
    p95: pickup.pickup.p95,
    p99: pickup.pickup.p99,
    n: pickup.pickup.n,
    poll: pickup.poll,
  },
  throughput: {
    tasks: SIZES.throughput,
    seconds: round(throughput.seconds, 2),
    tasksPerSecond,
    submitPhaseSeconds: round(throughput.submittedMs / 1000, 2),
    callsPerTask,
    ceilingCallsPerSecond: ceiling.callsPerSecond,
    ceilingRuns: [ceilingBefore.callsPerSecond, ceilingAfter.callsPerSecond],
    ceilingConcurrency: CEILING_LANES,
    efficiency: round((tasksPerSecond * callsPerTask) / ceiling.callsPerSecond, 3),
  },
  coldStart,
  memory: {
    rssBefore: throughput.rssBefore,
    rssAfter: throughput.rssAfter,
    growth: round(throughput.rssAfter / throughput.rssBefore - 1, 3),
  },
};

mkdirSync(new URL('results/', import.meta.url), { recursive: true });
writeFileSync(new URL('results/latest.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
printReport(report);
