import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateDevKey, mintDevToken } from '../infra/local/dev-key.js';
import { startLocalStack } from '../infra/local/local-stack.js';
import { type Settings, settings, withOverrides } from '../infra/settings.js';
import { onSdkClientCreated } from '../shared/aws/clients.js';
import { modelCapacity } from './capacity-model.js';
import { HttpClient } from './http-client.js';
import { SdkCallCounter } from './sdk-counter.js';
import { round } from './stats.js';

/** One comparison of the model with the local stack: a lane's numbers and a burst. */
interface Case {
  readonly name: string;
  readonly worker: Partial<Settings['worker']>;
  readonly rate: number;
  readonly burst: number;
  readonly taskMs: number;
}

/**
 * Two bursts the local stack can drain in well under a minute: one that the workers hold back (the
 * lane's concurrency binds) and one the clients' rate holds back. Sleep tasks, so the time a task runs is
 * the machine's least noisy figure.
 */
const CASES: readonly Case[] = [
  { name: 'workers bind', worker: { maxConcurrency: 4, batchSize: 5 }, rate: 100, burst: 600, taskMs: 1_000 },
  { name: 'arrival binds', worker: { maxConcurrency: 4, batchSize: 5 }, rate: 20, burst: 300, taskMs: 200 },
];

interface CapacityCheck {
  readonly name: string;
  readonly rate: number;
  readonly burst: number;
  readonly taskMs: number;
  readonly lane: { readonly maxConcurrency: number; readonly batchSize: number };
  readonly predicted: {
    readonly drainSeconds: number;
    readonly bindsLongest?: string;
    readonly peakConcurrency: number;
  };
  readonly measured: { readonly drainSeconds: number };
  /** measured / predicted; the target is 0.7 to 1.3. */
  readonly ratio: number;
  readonly within: boolean;
}

const progress = (text: string) => process.stderr.write(`[bench capacity] ${text}\n`);

/**
 * The capacity model (bench/capacity-model.ts) in its local profile against the local stack: each case
 * starts a local stack with the case's lane numbers, submits the burst at the case's rate, and times
 * the first submit to the last SUCCEEDED write.
 */
async function measure(c: Case, counter: SdkCallCounter): Promise<CapacityCheck> {
  const s = withOverrides(settings, { worker: c.worker });
  const predicted = modelCapacity({ rate: c.rate, burst: c.burst, taskMs: c.taskMs, settings: s, profile: 'local' });
  progress(
    `${c.name}: ${c.burst} sleep tasks of ${c.taskMs} ms at ${c.rate}/s; predicted ${round(predicted.drainSeconds)} s`,
  );
  const devKey = await generateDevKey();
  const stack = await startLocalStack({ port: 0, logLevel: 'SILENT', devKey, workerIsolation: 'inline', settings: s });
  const http = new HttpClient(stack.url, 16, {
    authorization: `Bearer ${await mintDevToken(devKey, { sub: 'capacity' })}`,
  });
  let succeeded = 0;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  counter.onSucceeded = () => {
    succeeded++;
    if (succeeded === c.burst) allDone();
  };
  try {
    const start = performance.now();
    const submits: Promise<unknown>[] = [];
    for (let i = 0; i < c.burst; i++) {
      // Paced as the clients of the model offer them: task i leaves at i / rate.
      const due = start + (i / c.rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      submits.push(
        http.send('POST', '/tasks', { type: 'sleep', payload: { ms: c.taskMs } }).then((response) => {
          if (response.status !== 202) throw new Error(`POST /tasks answered ${response.status}: ${response.body}`);
        }),
      );
    }
    await Promise.all(submits);
    await Promise.race([
      finished,
      sleep(600_000).then(() => Promise.reject(new Error('the burst did not drain in 10 minutes'))),
    ]);
    const drainSeconds = (performance.now() - start) / 1000;
    const ratio = round(drainSeconds / predicted.drainSeconds, 3);
    return {
      name: c.name,
      rate: c.rate,
      burst: c.burst,
      taskMs: c.taskMs,
      lane: { maxConcurrency: predicted.lane.normalConcurrency, batchSize: predicted.lane.batchSize },
      predicted: {
        drainSeconds: round(predicted.drainSeconds),
        ...(predicted.bindsLongest && { bindsLongest: predicted.bindsLongest.limit.name }),
        peakConcurrency: predicted.peakConcurrency,
      },
      measured: { drainSeconds: round(drainSeconds) },
      ratio,
      within: ratio >= 0.7 && ratio <= 1.3,
    };
  } finally {
    counter.onSucceeded = () => {};
    http.close();
    await stack.stop();
  }
}

/** `npm run bench -- --scenario capacity`: writes bench/results/capacity.json and prints the comparison. */
export async function capacityScenario(_options: { readonly quick: boolean }): Promise<void> {
  const counter = new SdkCallCounter();
  onSdkClientCreated((client, origin) => counter.attach(client, origin));
  const loadAtStart = round(loadavg()[0] ?? 0);
  const checks: CapacityCheck[] = [];
  for (const c of CASES) checks.push(await measure(c, counter));
  const report = {
    scenario: 'capacity',
    machine: {
      cores: cpus().length,
      node: process.version,
      date: new Date().toISOString(),
      loadAverage: [loadAtStart, round(loadavg()[0] ?? 0)],
    },
    model: 'bench/capacity-model.ts, profile local (every poller at once, no API or table limits)',
    checks,
  };
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('results/capacity.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Capacity model against the local stack (${report.machine.date}, load ${report.machine.loadAverage.join(' → ')}):
| Case | Burst | Predicted drain | Measured | Ratio (0.7-1.3) |
|---|---|---|---|---|
${checks
  .map(
    (check) =>
      `| ${check.name} (${check.lane.maxConcurrency} × ${check.lane.batchSize}) | ${check.burst} × ${check.taskMs} ms at ${check.rate}/s | ${check.predicted.drainSeconds} s (${check.predicted.bindsLongest ?? 'nothing binds'}) | ${check.measured.drainSeconds} s | ${check.ratio} ${check.within ? 'met' : '**missed**'} |`,
  )
  .join('\n')}`);
}
