import type { ColdStartFigure } from './cold-start.js';
import type { CostLine } from './cost.js';
import type { PayloadPath, ThresholdRow } from './payload-sizes.js';
import type { Percentiles } from './stats.js';

interface SubmitFigures extends Percentiles {
  readonly bare: Percentiles;
  readonly ratioP99: number;
}

interface RequestFigures {
  readonly total: number;
  readonly byOperation: Record<string, number>;
  readonly emptyReceivesPerTask: number;
  readonly workerInvocationsPerTask: number;
  readonly tasks: number;
}

/** The shape of bench/results/latest.json: keep the top-level keys stable so runs compare over time. */
export interface Report {
  readonly machine: {
    readonly cores: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly platform: string;
    readonly date: string;
    readonly mode: 'quick' | 'full';
    readonly loadAverage: readonly number[];
  };
  readonly requestsPerTask: RequestFigures & { readonly lowLoad: RequestFigures };
  readonly costPerMillionUsd: number;
  readonly cost: {
    readonly lines: readonly CostLine[];
    readonly itemBytes: { readonly queued: number; readonly running: number; readonly finished: number };
    readonly prices: string;
  };
  /** Submit + one callback, no poll: the submit-only cost (polls 0) plus the callback path's own lines. */
  readonly costPerMillionUsdWithCallback: number;
  readonly costWithCallback: {
    readonly submitOnlyUsd: number;
    /** What the one poll adds to the submit-only cost (the headline figure's poll). */
    readonly onePollUsd: number;
    /** What one callback adds to it. */
    readonly callbackUsd: number;
    readonly lines: readonly CostLine[];
    readonly requestsPerTask: Record<string, number>;
    readonly itemBytes: number;
    readonly deliveryMs: number;
    readonly tasks: number;
  };
  /** The terminal write returned → the receiver got the callback, one task at a time (local). */
  readonly callbackLatency: Percentiles;
  /** Payload KB → USD per million tasks (one poll each, small result): the cost by payload size. */
  readonly costPerMillionUsdByPayloadKB: Readonly<Record<string, number>>;
  readonly payloadSizes: {
    readonly inlineMaxBytes: number;
    readonly bySize: Readonly<
      Record<
        string,
        {
          readonly path?: PayloadPath;
          readonly totalUsd?: number;
          readonly lines?: readonly CostLine[];
          readonly itemBytes?: { readonly queued: number; readonly running: number; readonly finished: number };
          readonly tasks: number;
          readonly requestsPerTask: Readonly<Record<string, number>>;
          readonly durationsMs: { readonly submit: number; readonly poll: number; readonly worker: number };
        }
      >
    >;
    readonly threshold: readonly ThresholdRow[];
  };
  readonly submit: {
    readonly concurrency1: SubmitFigures;
    readonly concurrency16: SubmitFigures;
    readonly ratioP99: number;
  };
  readonly pickup: {
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly n: number;
    readonly poll: Percentiles;
  };
  readonly throughput: {
    readonly tasks: number;
    readonly seconds: number;
    readonly tasksPerSecond: number;
    readonly submitPhaseSeconds: number;
    readonly callsPerTask: number;
    readonly ceilingCallsPerSecond: number;
    /** Before and after the throughput run; ceilingCallsPerSecond is their mean. */
    readonly ceilingRuns: readonly number[];
    readonly ceilingConcurrency: number;
    readonly efficiency: number;
  };
  readonly coldStart: Record<string, ColdStartFigure>;
  readonly memory: { readonly rssBefore: number; readonly rssAfter: number; readonly growth: number };
}

export interface TargetCheck {
  readonly target: string;
  readonly actual: string;
  readonly met: boolean;
}

const ZIP_LIMIT_BYTES = 300 * 1024;
/** The API is the function a caller waits on; the others start on queue or schedule events. */
const initRatioLimit = (name: string) => (name === 'api' ? 1.15 : 1.3);

/** The targets of issues 6 and 21, checked here (never by timed tests). */
export function checkTargets(r: Report): TargetCheck[] {
  const cold = Object.entries(r.coldStart);
  return [
    {
      target: 'measured on Node 24 (the Lambda runtime)',
      actual: r.machine.node,
      met: r.machine.node.startsWith('v24'),
    },
    {
      target: 'requests per task ≤ 4.3',
      actual: String(r.requestsPerTask.total),
      met: r.requestsPerTask.total <= 4.3,
    },
    {
      target: 'cost per million tasks ≤ $5 (one poll)',
      actual: `$${r.costPerMillionUsd.toFixed(2)}`,
      met: r.costPerMillionUsd <= 5,
    },
    {
      target: 'a callback costs no more than a poll: ≤ $1.36 per million above submit-only',
      actual: `$${r.costWithCallback.callbackUsd.toFixed(2)} (poll $${r.costWithCallback.onePollUsd.toFixed(2)})`,
      met: r.costWithCallback.callbackUsd <= 1.36,
    },
    (() => {
      const small = r.costPerMillionUsdByPayloadKB['1'] ?? Number.NaN;
      const large = r.costPerMillionUsdByPayloadKB['100'] ?? Number.NaN;
      const ratio = Math.round((large / small) * 100) / 100;
      return { target: 'cost at 100 KB payloads ≤ 2 × at 1 KB', actual: `${ratio} ×`, met: ratio <= 2 };
    })(),
    { target: 'submit p99 ratio ≤ 1.5 at c16', actual: String(r.submit.ratioP99), met: r.submit.ratioP99 <= 1.5 },
    { target: 'pickup p50 ≤ 50 ms', actual: `${r.pickup.p50} ms`, met: r.pickup.p50 <= 50 },
    { target: 'efficiency ≥ 0.6', actual: String(r.throughput.efficiency), met: r.throughput.efficiency >= 0.6 },
    ...cold.map(([name, c]) => ({
      target: `${name}: init ratio ≤ ${initRatioLimit(name)}`,
      actual: String(c.ratio),
      met: c.ratio <= initRatioLimit(name),
    })),
    ...cold.map(([name, c]) => ({
      target: `${name}: zip ≤ 300 KB`,
      actual: kb(c.zipBytes),
      met: c.zipBytes <= ZIP_LIMIT_BYTES,
    })),
    { target: 'RSS growth ≤ 20 %', actual: `${(r.memory.growth * 100).toFixed(1)} %`, met: r.memory.growth <= 0.2 },
  ];
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const table = (head: readonly string[], rows: readonly (readonly (string | number)[])[]) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');

/** The markdown the README's "Performance and cost" section shows. */
export function formatReport(r: Report): string {
  const m = r.machine;
  const s = (label: string, f: SubmitFigures) => [
    [`${label} POST /tasks`, f.p50, f.p95, f.p99, f.n],
    [`${label} bare PutItem + SendMessage`, f.bare.p50, f.bare.p95, f.bare.p99, f.bare.n],
    [`${label} ratio`, round2(f.p50 / f.bare.p50), round2(f.p95 / f.bare.p95), f.ratioP99, ''],
  ];
  const req = r.requestsPerTask;
  return [
    `### Benchmark (${m.mode}) ${m.date}: ${m.cores} cores (${m.cpuModel}), Node ${m.node}, ${m.platform}, load average ${m.loadAverage.join(' → ')}`,
    '',
    table(
      ['Target', 'Actual', ''],
      checkTargets(r).map((t) => [t.target, t.actual, t.met ? 'met' : '**missed**']),
    ),
    '',
    `Requests per task (${req.tasks} tasks submitted at concurrency 16; low load: ${req.lowLoad.tasks} tasks one at a time)`,
    '',
    table(
      ['Request', 'per task', 'low load'],
      [
        ...[...new Set([...Object.keys(req.byOperation), ...Object.keys(req.lowLoad.byOperation)])].map((op) => [
          op.startsWith('SQS ReceiveMessage') || op.startsWith('SQS DeleteMessage')
            ? `${op} (local poller; the AWS mapping makes it too)`
            : op,
          req.byOperation[op] ?? 0,
          req.lowLoad.byOperation[op] ?? 0,
        ]),
        ['**total**', `**${req.total}**`, `**${req.lowLoad.total}**`],
        [
          'empty receives (not in total; fauxqs wakes every waiting poller)',
          req.emptyReceivesPerTask,
          req.lowLoad.emptyReceivesPerTask,
        ],
        ['worker invocations', req.workerInvocationsPerTask, req.lowLoad.workerInvocationsPerTask],
      ],
    ),
    '',
    `Cost per million tasks, one poll each: **$${r.costPerMillionUsd.toFixed(2)}** (us-east-1 list prices in bench/prices.ts; item ${r.cost.itemBytes.queued} B queued, ${r.cost.itemBytes.running} B running, ${r.cost.itemBytes.finished} B finished)`,
    '',
    table(
      ['Item', 'per task', 'USD per million tasks'],
      r.cost.lines.map((l) => [l.item, Number(l.quantityPerTask.toPrecision(3)), l.usdPerMillionTasks.toFixed(3)]),
    ),
    '',
    `Cost per million tasks with a callback instead of the poll: **$${r.costPerMillionUsdWithCallback.toFixed(2)}** = submit-only $${r.costWithCallback.submitOnlyUsd.toFixed(2)} + callback $${r.costWithCallback.callbackUsd.toFixed(2)} (the poll: $${r.costWithCallback.onePollUsd.toFixed(2)}). ${r.costWithCallback.tasks} tasks with a callbackUrl at concurrency 16; finished item with its callback ${r.costWithCallback.itemBytes} B; a delivery (read, POST, record) took ${r.costWithCallback.deliveryMs} ms locally`,
    '',
    table(
      ['Callback path', 'per task'],
      Object.entries(r.costWithCallback.requestsPerTask).map(([op, n]) => [op, n]),
    ),
    '',
    table(
      ['Item', 'per task', 'USD per million tasks'],
      r.costWithCallback.lines.map((l) => [
        l.item,
        Number(l.quantityPerTask.toPrecision(3)),
        l.usdPerMillionTasks.toFixed(3),
      ]),
    ),
    '',
    formatPayloadSizes(r),
    '',
    'Latency (ms)',
    '',
    table(
      ['', 'p50', 'p95', 'p99', 'n'],
      [
        ...s('c1', r.submit.concurrency1),
        ...s('c16', r.submit.concurrency16),
        ['pickup: submit → SUCCEEDED (echo)', r.pickup.p50, r.pickup.p95, r.pickup.p99, r.pickup.n],
        ['poll: GET /tasks/{id}', r.pickup.poll.p50, r.pickup.poll.p95, r.pickup.poll.p99, r.pickup.poll.n],
        [
          'callback: terminal write → receiver',
          r.callbackLatency.p50,
          r.callbackLatency.p95,
          r.callbackLatency.p99,
          r.callbackLatency.n,
        ],
      ],
    ),
    '',
    table(
      ['Throughput', ''],
      [
        ['tasks', r.throughput.tasks],
        ['tasks/s end to end', r.throughput.tasksPerSecond],
        ['SDK calls per task (incl. empty receives)', r.throughput.callsPerTask],
        [
          `SDK call ceiling (calls/s, c${r.throughput.ceilingConcurrency}; before, after)`,
          `${r.throughput.ceilingCallsPerSecond} (${r.throughput.ceilingRuns.join(', ')})`,
        ],
        ['efficiency', r.throughput.efficiency],
        ['RSS before → after', `${mb(r.memory.rssBefore)} → ${mb(r.memory.rssAfter)}`],
      ],
    ),
    '',
    formatColdStart(r.coldStart),
  ].join('\n');
}

const PATHS: Readonly<Record<PayloadPath, string>> = {
  inline: 'in the body and the item',
  bucket: 'in the body, moved to S3 by the API',
  upload: 'presigned upload to S3',
};

/** Cost by payload size, its lines side by side, and the threshold table behind settings.taskData.inlineMaxBytes. */
function formatPayloadSizes(r: Report): string {
  const sizes = Object.entries(r.payloadSizes.bySize);
  const items = [...new Set(sizes.flatMap(([, size]) => (size.lines ?? []).map((line) => line.item)))];
  const usd = (kb: string, item: string) =>
    r.payloadSizes.bySize[kb]?.lines?.find((line) => line.item === item)?.usdPerMillionTasks.toFixed(3) ?? '-';
  return [
    `Cost per million tasks by payload size (\`bulk\`: the payload in, a 100-byte result out; ${sizes[0]?.[1].tasks ?? 0} tasks each, one poll each; inline up to ${r.payloadSizes.inlineMaxBytes} B)`,
    '',
    table(
      ['USD per million tasks', ...sizes.map(([kb]) => `${kb} KB`)],
      [
        ['payload travels', ...sizes.map(([, size]) => (size.path ? PATHS[size.path] : '-'))],
        [
          'item bytes (queued / finished)',
          ...sizes.map(([, size]) => `${size.itemBytes?.queued} / ${size.itemBytes?.finished}`),
        ],
        ...items.map((item) => [item, ...sizes.map(([kb]) => usd(kb, item))]),
        ['**total**', ...sizes.map(([kb]) => `**${r.costPerMillionUsdByPayloadKB[kb]?.toFixed(2)}**`)],
      ],
    ),
    '',
    'Where the inline threshold pays (the cost model on the measured tasks: USD per million tasks)',
    '',
    table(
      ['bytes', 'payload inline', 'payload in S3', 'result inline', 'result in S3'],
      r.payloadSizes.threshold.map((row) => [
        row.bytes,
        row.payloadInlineUsd.toFixed(2),
        row.payloadInBucketUsd.toFixed(2),
        row.resultInlineUsd.toFixed(2),
        row.resultInBucketUsd.toFixed(2),
      ]),
    ),
  ].join('\n');
}

/** The cold-start table (also printed alone by `npm run bench -- --only cold-start`). */
export function formatColdStart(coldStart: Report['coldStart']): string {
  return table(
    [
      'Cold start',
      'JS at init',
      'JS lazy',
      'source maps',
      'zip',
      'zip w/o maps',
      'init ms',
      'baseline init ms',
      'ratio',
    ],
    Object.entries(coldStart).map(([name, c]) => [
      name,
      kb(c.bytes),
      kb(c.lazyBytes),
      kb(c.sourceMapBytes),
      kb(c.zipBytes),
      kb(c.zipBytesWithoutSourceMap),
      c.initMs,
      `${c.baselineInitMs} (${kb(c.baselineBytes)})`,
      c.ratio,
    ]),
  );
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export function printReport(r: Report): void {
  console.log(formatReport(r));
}
