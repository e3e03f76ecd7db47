import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateDevKey, mintDevToken } from '../infra/local/dev-key.js';
import { type LocalStack, startLocalStack } from '../infra/local/local-stack.js';
import { type Settings, settings } from '../infra/settings.js';
import { onSdkClientCreated } from '../shared/aws/clients.js';
import { serializeTaskMessage } from '../shared/task-message.js';
import { costPerMillionTasks } from './cost.js';
import { HttpClient } from './http-client.js';
import { perTask } from './request-counts.js';
import { SdkCallCounter } from './sdk-counter.js';
import { median, percentiles, round, timedPool } from './stats.js';

/**
 * The scenario of issue 15: a noisy owner's backlog queued first, then a quiet owner's tasks. The backlog
 * is work that takes a while (`sleep`, a second each: exports, calls to slow APIs), the quiet owner's is
 * short (`echo`): what a quiet owner waits for is then the queue, not its own work.
 */
const BACKLOG = 2_000;
/** 0.2 to 1.8 s, a second on average: equal lengths would keep the worker's pollers in step. */
const backlogTask = (n: number) => ({ type: 'sleep', payload: { ms: 200 + ((n * 397) % 1_600) } });
const QUIET_TASKS = 20;
/** Rounds of the quiet owner's 20 tasks on the idle stack: its p50 is the baseline, so it gets more samples. */
const SOLO_ROUNDS = 3;
/** Tasks of each cost workload, and the batch size of the batched one. */
const COST_TASKS = 1_000;
const COST_BATCH = 10;
const CONCURRENCY = 16;
const TASK_TYPE = 'echo';
/** Cost per million tasks, submitted in batches of ten and read back with one GET /tasks?ids= per batch. */
const BATCHED_COST_TARGET_USD = 4;
const RATIO_TARGET = 3;

const progress = (text: string) => process.stderr.write(`[bench fairness] ${text}\n`);

/** What `npm run bench -- --scenario fairness` writes to bench/results/fairness.json. */
export interface FairnessReport {
  readonly machine: { cores: number; cpuModel: string; node: string; date: string; loadAverage: number[] };
  /** With fair queues (the default): the quiet owner's pickup p50 behind the backlog, alone, and their ratio. */
  readonly quietP50Ms: number;
  readonly quietSoloP50Ms: number;
  readonly ratio: number;
  /** The same run with fair queues off (settings.fairness.fairQueues false): the unfair baseline. */
  readonly withoutFairQueues: { quietP50Ms: number; quietSoloP50Ms: number; ratio: number };
  readonly runs: { fair: FairnessRun; unfair: FairnessRun };
  readonly costPerMillionUsd: number;
  readonly costPerMillionUsdBatched: number;
  readonly cost: { single: CostFigures; batched: CostFigures; prices: string };
  readonly targets: Array<{ target: string; actual: string; met: boolean }>;
}

interface FairnessRun {
  readonly fairQueues: boolean;
  readonly solo: ReturnType<typeof percentiles>;
  readonly behindBacklog: ReturnType<typeof percentiles>;
  /** p50 of the POST /tasks alone, part of the pickup: how busy the one process of the local stack was. */
  readonly submitMs: { readonly solo: number; readonly behindBacklog: number };
  /** Backlog tasks not yet finished when the quiet owner's last task succeeded. */
  readonly backlogLeftWhenQuietDone: number;
  readonly backlogSeconds: number;
}

interface CostFigures {
  readonly requestsPerTask: ReturnType<typeof perTask>;
  readonly itemBytes: { readonly queued: number; readonly running: number; readonly finished: number };
  readonly workerMsPerTask: number;
  readonly lines: ReturnType<typeof costPerMillionTasks>['lines'];
  readonly submitRequestMs: number;
  readonly pollRequestMs: number;
}

/** One local stack per measurement, the handlers' SDK calls counted as the main benchmark counts them. */
const counter = new SdkCallCounter();
onSdkClientCreated((client, origin) => counter.attach(client, origin));
const succeeded = new Map<string, (at: number) => void>();
/** When each task's SUCCEEDED write returned (performance.now()). */
const doneAt = new Map<string, number>();
const done = { has: (taskId: string) => doneAt.has(taskId) };
counter.onSucceeded = (taskId, at) => {
  doneAt.set(taskId, at);
  succeeded.get(taskId)?.(at);
};

export async function runFairnessScenario(): Promise<FairnessReport> {
  const loadAtStart = round(loadavg()[0] ?? 0);
  const date = new Date().toISOString();
  const devKey = await generateDevKey();
  const fair = await withStack(devKey, true, (stack) => fairnessRun(stack, devKey, true));
  const unfair = await withStack(devKey, false, (stack) => fairnessRun(stack, devKey, false));
  const cost = await withStack(devKey, true, (stack) => costRuns(stack, devKey));

  const ratioOf = (run: FairnessRun) => round(run.behindBacklog.p50 / run.solo.p50, 2);
  const report: FairnessReport = {
    machine: {
      cores: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      date,
      loadAverage: [loadAtStart, round(loadavg()[0] ?? 0)],
    },
    quietP50Ms: fair.behindBacklog.p50,
    quietSoloP50Ms: fair.solo.p50,
    ratio: ratioOf(fair),
    withoutFairQueues: {
      quietP50Ms: unfair.behindBacklog.p50,
      quietSoloP50Ms: unfair.solo.p50,
      ratio: ratioOf(unfair),
    },
    runs: { fair, unfair },
    costPerMillionUsd: cost.single.usd,
    costPerMillionUsdBatched: cost.batched.usd,
    cost: { single: cost.single.figures, batched: cost.batched.figures, prices: 'bench/prices.ts' },
    targets: [],
  };
  const targets = [
    {
      target: `quiet owner's pickup p50 behind a ${BACKLOG}-task backlog ≤ ${RATIO_TARGET}× alone`,
      actual: `${report.ratio}× (${report.quietP50Ms} ms vs ${report.quietSoloP50Ms} ms; without fair queues ${report.withoutFairQueues.ratio}×)`,
      met: report.ratio <= RATIO_TARGET,
    },
    {
      target: `cost per million tasks ≤ $${BATCHED_COST_TARGET_USD} in batches of ${COST_BATCH}, read back by batch`,
      actual: `$${report.costPerMillionUsdBatched} (one at a time: $${report.costPerMillionUsd})`,
      met: report.costPerMillionUsdBatched <= BATCHED_COST_TARGET_USD,
    },
  ];
  const final = { ...report, targets };
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('results/fairness.json', import.meta.url), `${JSON.stringify(final, null, 2)}\n`);
  console.log(formatFairness(final));
  return final;
}

async function withStack<T>(
  devKey: Awaited<ReturnType<typeof generateDevKey>>,
  fairQueues: boolean,
  run: (stack: LocalStack) => Promise<T>,
): Promise<T> {
  const s: Settings = { ...settings, fairness: { ...settings.fairness, fairQueues } };
  // Inline worker: the SDK counters attach to the clients of this process (threads have their own).
  const stack = await startLocalStack({
    port: 0,
    logLevel: 'SILENT',
    metrics: false,
    devKey,
    workerIsolation: 'inline',
    settings: s,
  });
  try {
    return await run(stack);
  } finally {
    await stack.stop();
  }
}

function clientFor(stack: LocalStack, token: string): HttpClient {
  return new HttpClient(stack.url, CONCURRENCY * 2, { authorization: `Bearer ${token}` });
}

/** POST /tasks → the worker's SUCCEEDED write has returned, for each of `count` tasks submitted at once. */
async function pickups(
  http: HttpClient,
  count: number,
  label: string,
): Promise<{ pickup: number[]; submit: number[] }> {
  const submit: number[] = [];
  const pickup = await Promise.all(
    Array.from({ length: count }, async (_, n) => {
      const start = performance.now();
      const response = await http.send('POST', '/tasks', { type: TASK_TYPE, payload: { label, n } });
      submit.push(performance.now() - start);
      if (response.status !== 202) throw new Error(`POST /tasks answered ${response.status}: ${response.body}`);
      const { taskId } = JSON.parse(response.body) as { taskId: string };
      const at = await new Promise<number>((resolve, reject) => {
        succeeded.set(taskId, resolve);
        // The worker may have finished before the POST returned.
        const finished = doneAt.get(taskId);
        if (finished !== undefined) resolve(finished);
        setTimeout(() => reject(new Error(`task ${taskId} did not succeed in 120 s`)), 120_000).unref();
      });
      succeeded.delete(taskId);
      return Math.max(0, at - start);
    }),
  );
  return { pickup, submit };
}

async function submitBatches(
  http: HttpClient,
  total: number,
  size: number,
  concurrency: number,
  task: (n: number) => { type: string; payload: unknown } = (n) => ({ type: TASK_TYPE, payload: { n } }),
) {
  const ids: string[] = [];
  const durations = await timedPool(Math.ceil(total / size), concurrency, async (batch) => {
    const tasks = Array.from({ length: Math.min(size, total - batch * size) }, (_, n) => task(batch * size + n));
    const response = await http.send('POST', '/tasks/batch', { tasks });
    if (response.status !== 202) throw new Error(`POST /tasks/batch answered ${response.status}: ${response.body}`);
    ids.push(...(JSON.parse(response.body) as { results: { taskId: string }[] }).results.map((r) => r.taskId));
  });
  return { ids, durations };
}

async function untilDone(ids: readonly string[], timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (ids.some((id) => !done.has(id))) {
    if (Date.now() > deadline) throw new Error(`${ids.filter((id) => !done.has(id)).length} tasks did not finish`);
    await sleep(20);
  }
}

async function fairnessRun(
  stack: LocalStack,
  devKey: Parameters<typeof mintDevToken>[0],
  fairQueues: boolean,
): Promise<FairnessRun> {
  const mode = fairQueues ? 'fair queues' : 'fair queues off';
  const [warm, noisy, quiet] = await Promise.all(
    ['warm', 'noisy', 'quiet'].map(async (sub) => clientFor(stack, await mintDevToken(devKey, { sub }))),
  );
  if (!warm || !noisy || !quiet) throw new Error('no client');
  progress(`${mode}: warm-up`);
  await untilDone((await submitBatches(warm, 300, 100, 3)).ids);
  // The quiet owner's connections are opened before anything is timed, for both measurements alike.
  await pickups(quiet, QUIET_TASKS, 'warm');
  progress(`${mode}: ${QUIET_TASKS} quiet tasks on an idle stack, ${SOLO_ROUNDS} times`);
  const solo = { pickup: [] as number[], submit: [] as number[] };
  for (let round = 0; round < SOLO_ROUNDS; round++) {
    const one = await pickups(quiet, QUIET_TASKS, 'solo');
    solo.pickup.push(...one.pickup);
    solo.submit.push(...one.submit);
  }
  progress(`${mode}: a noisy owner's ${BACKLOG} tasks, then ${QUIET_TASKS} quiet ones`);
  const started = performance.now();
  const backlog = await submitBatches(noisy, BACKLOG, 100, 4, backlogTask);
  const behind = await pickups(quiet, QUIET_TASKS, 'behind');
  const backlogLeftWhenQuietDone = backlog.ids.filter((id) => !done.has(id)).length;
  await untilDone(backlog.ids);
  const backlogSeconds = round((performance.now() - started) / 1000, 2);
  for (const http of [warm, noisy, quiet]) http.close();
  return {
    fairQueues,
    solo: percentiles(solo.pickup),
    behindBacklog: percentiles(behind.pickup),
    submitMs: { solo: median(solo.submit), behindBacklog: median(behind.submit) },
    backlogLeftWhenQuietDone,
    backlogSeconds,
  };
}

/** The same tasks one at a time (a POST and a GET each) and in batches of ten (one of each per batch). */
async function costRuns(stack: LocalStack, devKey: Parameters<typeof mintDevToken>[0]) {
  const http = clientFor(stack, await mintDevToken(devKey, { sub: 'cost' }));
  progress(`cost: ${COST_TASKS} tasks one at a time, then ${COST_TASKS} in batches of ${COST_BATCH}`);
  await untilDone((await submitBatches(http, 200, 100, 2)).ids);

  const submitOne = async () => {
    const response = await http.send('POST', '/tasks', { type: TASK_TYPE, payload: { n: 1 } });
    return [(JSON.parse(response.body) as { taskId: string }).taskId];
  };
  const submitTen = async () => (await submitBatches(http, COST_BATCH, COST_BATCH, 1)).ids;
  const readOne = async (ids: readonly string[]) => void (await http.send('GET', `/tasks/${ids[0]}`));
  const readTen = async (ids: readonly string[]) => {
    const response = await http.send('GET', `/tasks?ids=${ids.join(',')}`);
    const { tasks } = JSON.parse(response.body) as { tasks: unknown[] };
    if (tasks.length !== ids.length) throw new Error(`GET /tasks?ids= answered ${tasks.length} of ${ids.length}`);
  };
  const single = await measure(1, submitOne, readOne);
  const batched = await measure(COST_BATCH, submitTen, readTen);
  http.close();
  return { single, batched };
}

/**
 * COST_TASKS tasks submitted `perRequest` at a time (CONCURRENCY requests in flight) and, once finished,
 * read back as many per request: their SDK calls priced per task, as the main benchmark prices its own.
 * Durations are taken apart, one request at a time (its tasks alone in the worker), as the main
 * benchmark takes them: under load a request mostly waits for the CPU, which Lambda would not bill.
 */
async function measure(
  perRequest: number,
  submit: () => Promise<string[]>,
  read: (ids: readonly string[]) => Promise<void>,
) {
  const before = counter.snapshot();
  counter.claimToFinishMs.length = 0;
  for (const sizes of Object.values(counter.itemBytes)) sizes.length = 0;
  const batches: string[][] = [];
  await timedPool(COST_TASKS / perRequest, CONCURRENCY, async () => void batches.push(await submit()));
  await untilDone(batches.flat());
  await timedPool(batches.length, CONCURRENCY, async (n) => read(batches[n] ?? []));
  const requestsPerTask = perTask(counter.since(before), COST_TASKS);
  const submits: number[] = [];
  const polls: number[] = [];
  // The worker's time per invocation too: one request's tasks alone, as one invocation takes them.
  counter.claimToFinishMs.length = 0;
  for (let n = 0; n < 30; n++) {
    let start = performance.now();
    const ids = await submit();
    submits.push(performance.now() - start);
    await untilDone(ids);
    start = performance.now();
    await read(ids);
    polls.push(performance.now() - start);
  }
  const itemBytes = {
    queued: Math.max(...counter.itemBytes.queued),
    running: Math.max(...counter.itemBytes.running),
    finished: Math.max(...counter.itemBytes.finished),
  };
  const cost = costPerMillionTasks({
    requestsPerTask: requestsPerTask.byOperation,
    workerInvocationsPerTask: requestsPerTask.workerInvocationsPerTask,
    itemBytes,
    indexesWritten: 1,
    consistentPoll: true,
    durationsMs: { submit: median(submits), poll: median(polls), worker: median(counter.claimToFinishMs) },
    memoryMiB: { api: settings.api.memoryMiB, worker: settings.worker.memoryMiB },
    sqsMessageBytes: serializeTaskMessage({ taskId: 'x'.repeat(36), type: TASK_TYPE, group: 'g'.repeat(32) }).length,
    retentionDays: settings.tasks.ttlDays,
    sweepIntervalMinutes: settings.recovery.intervalMinutes,
    tasksPerRequest: perRequest,
    // The polls were made and counted: their Query per task is among the requests.
    pollReadsCounted: true,
  });
  return {
    usd: round(cost.totalUsd, 3),
    figures: {
      requestsPerTask,
      itemBytes,
      workerMsPerTask: round(median(counter.claimToFinishMs)),
      lines: cost.lines,
      submitRequestMs: round(median(submits)),
      pollRequestMs: round(median(polls)),
    },
  };
}

function formatFairness(report: FairnessReport): string {
  const run = (r: FairnessRun) =>
    `| ${r.fairQueues ? 'on' : 'off'} | ${r.solo.p50} | ${r.behindBacklog.p50} | ${r.behindBacklog.p95} | ${round(r.behindBacklog.p50 / r.solo.p50, 2)}× | ${r.backlogLeftWhenQuietDone} | ${r.backlogSeconds} |`;
  const lines = [
    `Fairness (${report.machine.date}): ${report.machine.cores} cores, Node ${report.machine.node}, load average ${report.machine.loadAverage.join(' → ')}`,
    '',
    '| Target | Actual |  |',
    '|---|---|---|',
    ...report.targets.map((t) => `| ${t.target} | ${t.actual} | ${t.met ? 'met' : '**missed**'} |`),
    '',
    `Quiet owner's pickup (ms, submit → SUCCEEDED) alone and behind a ${BACKLOG}-task backlog of another owner`,
    '',
    '| Fair queues | alone p50 | behind p50 | behind p95 | ratio | backlog left when the quiet tasks were done | backlog drained (s) |',
    '|---|---|---|---|---|---|---|',
    run(report.runs.fair),
    run(report.runs.unfair),
    '',
    `Cost per million tasks (${COST_TASKS} tasks each way)`,
    '',
    '| Item | one at a time | in batches of 10 |',
    '|---|---|---|',
    ...report.cost.single.lines.map((line, i) => {
      const batched = report.cost.batched.lines[i];
      return `| ${line.item.replace(/ \(submit \+ 1 poll\)$/, ' (submit + poll)')} | $${round(line.usdPerMillionTasks, 3)} | $${round(batched?.usdPerMillionTasks ?? 0, 3)} |`;
    }),
    `| **Total** | **$${report.costPerMillionUsd}** | **$${report.costPerMillionUsdBatched}** |`,
  ];
  return lines.join('\n');
}
