import { parseArgs } from 'node:util';
import { lanes as demoLanes } from '../functions/tasks/demo.js';
import { settings, withOverrides } from '../infra/settings.js';
import { type CapacityResult, modelCapacity, SOURCES } from './capacity-model.js';

const usage = `Usage: npm run capacity -- --rate <tasks/s> --burst <tasks> --task-ms <ms> [--lane NAME] [options]

For this repository's deployed settings (infra/settings.ts and the demonstration module's lanes), prints
how long the burst takes to drain, the peak concurrency, which limit binds first and what it costs.

  --rate N            tasks a second the clients offer
  --burst N           tasks in the burst
  --task-ms N         how long one task runs
  --lane NAME         the lane the tasks run in (default: default)
  --owners N          distinct owners submitting them (default 1: one busy owner)
  --progress-writes N progress writes per task (default 0)
  --account-concurrency N   the account's Lambda quota (default ${settings.lambda.accountConcurrency})
  --max-concurrency N       what if the lane's maxConcurrency were N
  --api-rate N              what if the API stage's throttle (settings.api.throttleRateLimit) were N
  --owner-max-running N     what if the per-owner concurrency limit (settings.fairness) were on, at N
  --local             the local stack's profile: every poller at once, no API or table limits
  --json              print the result as JSON`;

const { values } = parseArgs({
  options: {
    rate: { type: 'string' },
    burst: { type: 'string' },
    'task-ms': { type: 'string' },
    lane: { type: 'string' },
    owners: { type: 'string' },
    'progress-writes': { type: 'string' },
    'account-concurrency': { type: 'string' },
    'max-concurrency': { type: 'string' },
    'api-rate': { type: 'string' },
    'owner-max-running': { type: 'string' },
    local: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const number = (name: string, value: string | undefined, min: number): number | undefined => {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min) {
    console.error(`--${name} must be a number of at least ${min}, got ${value}`);
    process.exit(2);
  }
  return parsed;
};
if (values.help || !values.rate || !values.burst || !values['task-ms']) {
  console.log(usage);
  process.exit(values.help ? 0 : 2);
}
const lane = values.lane ?? 'default';
const maxConcurrency = number('max-concurrency', values['max-concurrency'], 2);
const apiRate = number('api-rate', values['api-rate'], 1);
const ownerMaxRunning = number('owner-max-running', values['owner-max-running'], 1);
const deployed = withOverrides(settings, {
  lanes: demoLanes,
  ...(apiRate !== undefined && { api: { throttleRateLimit: apiRate, throttleBurstLimit: 2 * apiRate } }),
  ...(ownerMaxRunning !== undefined && {
    fairness: { ownerConcurrency: { enabled: true, maxRunning: ownerMaxRunning } },
  }),
  ...(maxConcurrency !== undefined &&
    (lane === 'default' ? { worker: { maxConcurrency } } : { lanes: { ...demoLanes, [lane]: { maxConcurrency } } })),
});

const result = modelCapacity({
  rate: number('rate', values.rate, 0.001) ?? 1,
  burst: number('burst', values.burst, 1) ?? 1,
  taskMs: number('task-ms', values['task-ms'], 0) ?? 0,
  settings: deployed,
  lane,
  owners: number('owners', values.owners, 1),
  progressWrites: number('progress-writes', values['progress-writes'], 0),
  accountConcurrency: number('account-concurrency', values['account-concurrency'], 1),
  profile: values.local ? 'local' : 'aws',
});

if (values.json) console.log(JSON.stringify(result, null, 2));
else
  console.log(
    formatCapacity(result, {
      rate: Number(values.rate),
      burst: Number(values.burst),
      taskMs: Number(values['task-ms']),
    }),
  );

/** The result as the table the README shows. */
function formatCapacity(r: CapacityResult, asked: { rate: number; burst: number; taskMs: number }): string {
  const lane = r.lane;
  const scaling =
    lane.scaling.mode === 'standard'
      ? `maxConcurrency ${lane.scaling.maxConcurrency}`
      : `${lane.scaling.minimumPollers}-${lane.scaling.maximumPollers} provisioned pollers`;
  const lines = [
    `Capacity of lane ${lane.name} (${lane.timeoutSeconds} s, ${lane.memoryMiB} MiB, batch ${lane.batchSize}, ${scaling}, ${lane.highPriorityConcurrency} more for high priority), ${r.profile === 'aws' ? 'in AWS' : 'on the local stack'}:`,
    `${asked.burst.toLocaleString('en-US')} tasks of ${asked.taskMs.toLocaleString('en-US')} ms offered at ${asked.rate.toLocaleString('en-US')}/s`,
    '',
    '| | |',
    '|---|---|',
    `| Time to drain | ${duration(r.drainSeconds)} |`,
    `| Submission takes | ${duration(r.submitSeconds)} (admitted at ${round(r.admissionRate)}/s) |`,
    `| Peak concurrency | ${r.peakConcurrency.toLocaleString('en-US')} invocations, ${r.peakTasksRunning.toLocaleString('en-US')} tasks running |`,
    `| Throughput, fully scaled | ${significant(r.steadyThroughput)} tasks/s |`,
    `| Binds first | ${r.bindsFirst ? `${r.bindsFirst.limit.description} (${round(r.bindsFirst.limit.value)} ${r.bindsFirst.limit.unit}), at ${duration(r.bindsFirst.atSeconds)}` : 'nothing: the lane keeps up'} |`,
    `| Sets the drain time | ${r.bindsLongest ? `${r.bindsLongest.limit.description}: held the run back ${duration(r.bindsLongest.seconds)}` : 'nothing'} |`,
    `| Cost | $${money(r.cost.totalUsd)} for the burst ($${money(r.cost.perMillionUsd)} per million tasks) |`,
    '',
    'Limits:',
    ...r.limits.map(
      (limit) =>
        `- ${limit.description}: ${round(limit.value).toLocaleString('en-US')} ${limit.unit}${r.bound[limit.name] ? ` (held back ${duration(r.bound[limit.name] ?? 0)})` : ''}`,
    ),
    '',
    ...r.notes.map((note) => `Note: ${note}`),
    '',
    'Sources:',
    ...Object.values(SOURCES).map((source) => `- ${source}`),
  ];
  return lines.join('\n');
}

function duration(seconds: number): string {
  if (seconds < 60) return `${round(seconds, 1)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

function money(usd: number): string {
  return usd < 10 ? usd.toFixed(2) : Math.round(usd).toLocaleString('en-US');
}

function significant(x: number): string {
  return x >= 100 ? String(Math.round(x)) : String(Number(x.toPrecision(3)));
}

function round(x: number, digits = 1): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}
