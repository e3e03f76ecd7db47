import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { defaultLaneOf } from '../infra/lanes.js';
import { generateDevKey, mintDevToken } from '../infra/local/dev-key.js';
import { startLocalStack } from '../infra/local/local-stack.js';
import { settings } from '../infra/settings.js';
import { createSqsClient, onSdkClientCreated } from '../shared/aws/clients.js';
import { loadConfig } from '../shared/config.js';
import { HttpClient } from './http-client.js';
import { SdkCallCounter } from './sdk-counter.js';
import { percentiles, round } from './stats.js';

/** What `npm run bench -- --scenario priority` writes to bench/results/priority.json. */
export interface PriorityReport {
  readonly scenario: 'priority';
  readonly machine: {
    readonly cores: number;
    readonly node: string;
    readonly date: string;
    readonly loadAverage: readonly number[];
  };
  /** The default lane's numbers the run used (the deployed defaults). */
  readonly lane: {
    readonly maxConcurrency: number;
    readonly batchSize: number;
    readonly highPriorityConcurrency: number;
  };
  readonly backlog: {
    readonly tasks: number;
    readonly type: string;
    readonly ms: number;
    /** Normal messages waiting in the queue when each high-priority task was submitted: proof of the backlog. */
    readonly queueDepthAtHighSubmits: { readonly min: number; readonly max: number };
    /** Submit → SUCCEEDED of one normal echo submitted right after the backlog, for contrast. */
    readonly normalBehindBacklogMs: number;
  };
  /** Submit → SUCCEEDED of high-priority echo tasks on an idle stack (the idle pickup). */
  readonly highSoloP50Ms: number;
  /** Submit → SUCCEEDED of high-priority echo tasks submitted behind the backlog. */
  readonly highP50Ms: number;
  readonly highP95Ms: number;
  readonly samples: number;
  /** highP50Ms / highSoloP50Ms; the target is at most 2. */
  readonly ratio: number;
  readonly met: boolean;
}

const BACKLOG_TASKS = 2_000;
/** Long enough that the backlog outlasts every high-priority sample: 2,000 × 1 s over 100 concurrent tasks is ~20 s. */
const BACKLOG_SLEEP_MS = 1_000;
const progress = (text: string) => process.stderr.write(`[bench priority] ${text}\n`);

/**
 * A high-priority task behind a backlog of normal ones: the local stack with the deployed default lane
 * (10 concurrent invocations of 10 records for normal tasks, 2 reserved for high priority), 2,000 normal
 * `sleep` tasks enqueued at once, then high-priority `echo` tasks one after another while the backlog
 * drains, each timed from its submit to its SUCCEEDED write; the same on an idle stack first.
 */
async function runPriorityScenario(options: { readonly quick: boolean }): Promise<PriorityReport> {
  const samples = options.quick ? 10 : 30;
  const counter = new SdkCallCounter();
  onSdkClientCreated((client, origin) => counter.attach(client, origin));
  const succeeded = new Map<string, (at: number) => void>();
  counter.onSucceeded = (taskId, at) => succeeded.get(taskId)?.(at);

  const loadAtStart = round(loadavg()[0] ?? 0);
  progress('starting the local stack (deployed default-lane settings, inline worker)');
  const devKey = await generateDevKey();
  const stack = await startLocalStack({ port: 0, logLevel: 'SILENT', devKey, workerIsolation: 'inline' });
  const token = await mintDevToken(devKey, { sub: 'bench-priority' });
  const http = new HttpClient(stack.url, 32, { authorization: `Bearer ${token}` });
  const sqs = createSqsClient(loadConfig());

  const submit = async (body: Record<string, unknown>): Promise<string> => {
    const response = await http.send('POST', '/tasks', body);
    if (response.status !== 202) throw new Error(`POST /tasks answered ${response.status}: ${response.body}`);
    return (JSON.parse(response.body) as { taskId: string }).taskId;
  };
  /** Submit → the SUCCEEDED write has returned. */
  const timed = async (body: Record<string, unknown>, timeoutMs = 60_000): Promise<number> => {
    const start = performance.now();
    let done: (at: number) => void = () => {};
    const finished = new Promise<number>((resolve) => {
      done = resolve;
    });
    const taskId = await submit(body);
    succeeded.set(taskId, done);
    const at = await Promise.race([finished, sleep(timeoutMs).then(() => Number.NaN)]);
    succeeded.delete(taskId);
    if (Number.isNaN(at)) throw new Error(`task ${taskId} did not succeed within ${timeoutMs} ms`);
    return at - start;
  };
  const queueDepth = async (): Promise<number> => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.resources.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  };
  const high = { type: 'echo', payload: { urgent: true }, priority: 'high' };

  try {
    progress('warm-up: 50 tasks of each priority');
    for (let i = 0; i < 50; i++) await Promise.all([timed({ type: 'echo', payload: i }), timed(high)]);

    progress(`idle: ${samples} high-priority echo tasks one after another`);
    const solo: number[] = [];
    for (let i = 0; i < samples; i++) solo.push(await timed(high));

    progress(`backlog: ${BACKLOG_TASKS} normal sleep tasks of ${BACKLOG_SLEEP_MS} ms`);
    const backlogIds: string[] = [];
    for (let i = 0; i < BACKLOG_TASKS; i += 50) {
      const batch = Array.from({ length: Math.min(50, BACKLOG_TASKS - i) }, () =>
        submit({ type: 'sleep', payload: { ms: BACKLOG_SLEEP_MS } }),
      );
      backlogIds.push(...(await Promise.all(batch)));
    }
    const normalBehind = timed({ type: 'echo', payload: 'behind the backlog' }, 300_000);

    progress(`behind the backlog: ${samples} high-priority echo tasks one after another`);
    const behind: number[] = [];
    const depths: number[] = [];
    for (let i = 0; i < samples; i++) {
      depths.push(await queueDepth());
      behind.push(await timed(high));
    }
    progress('waiting for the backlog to drain');
    const normalBehindBacklogMs = await normalBehind;

    const soloP = percentiles(solo);
    const behindP = percentiles(behind);
    const ratio = round(behindP.p50 / soloP.p50, 3);
    const lane = defaultLaneOf(settings);
    return {
      scenario: 'priority',
      machine: {
        cores: cpus().length,
        node: process.version,
        date: new Date().toISOString(),
        loadAverage: [loadAtStart, round(loadavg()[0] ?? 0)],
      },
      lane: {
        maxConcurrency: lane.normalConcurrency,
        batchSize: lane.batchSize,
        highPriorityConcurrency: lane.highPriorityConcurrency,
      },
      backlog: {
        tasks: backlogIds.length,
        type: 'sleep',
        ms: BACKLOG_SLEEP_MS,
        queueDepthAtHighSubmits: { min: Math.min(...depths), max: Math.max(...depths) },
        normalBehindBacklogMs: round(normalBehindBacklogMs),
      },
      highSoloP50Ms: soloP.p50,
      highP50Ms: behindP.p50,
      highP95Ms: behindP.p95,
      samples,
      ratio,
      met: ratio <= 2,
    };
  } finally {
    http.close();
    sqs.destroy();
    await stack.stop();
  }
}

/** Runs the scenario, writes bench/results/priority.json and prints the figures. */
export async function priorityScenario(options: { readonly quick: boolean }): Promise<void> {
  const report = await runPriorityScenario(options);
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('results/priority.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Priority (${report.machine.date}, load ${report.machine.loadAverage.join(' → ')}):
| | p50 |
|---|---|
| high priority, idle stack | ${report.highSoloP50Ms} ms |
| high priority, behind ${report.backlog.tasks} normal tasks (${report.backlog.queueDepthAtHighSubmits.min}-${report.backlog.queueDepthAtHighSubmits.max} waiting) | ${report.highP50Ms} ms (p95 ${report.highP95Ms} ms) |
| ratio (target ≤ 2) | ${report.ratio} ${report.met ? 'met' : '**missed**'} |
| a normal task behind the same backlog | ${report.backlog.normalBehindBacklogMs} ms |`);
}
