import { INVOCATIONS_PER_POLLER, type Lane, lanesOf } from '../infra/lanes.js';
import { LAMBDA_UNRESERVED_MINIMUM, reservedConcurrency, type Settings } from '../infra/settings.js';
import { type CostLine, costPerMillionTasks } from './cost.js';

/**
 * A capacity model of one lane: how long a burst of tasks takes to drain, how many invocations it
 * takes at its peak, which limit binds first and what it costs. It steps through time, admitting
 * submissions at the rate the API path allows and starting batches as the event source mapping's
 * documented scaling allows (see {@link SOURCES}); each invocation runs its batch's records side by
 * side (Powertools' BatchProcessor), so it lasts one task plus a fixed overhead.
 */

/** The AWS documentation each number of the model comes from. */
export const SOURCES = {
  sqsScaling: 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html',
  provisionedMode:
    'https://aws.amazon.com/blogs/aws/aws-lambda-enhances-sqs-processing-with-new-provisioned-mode-3x-faster-scaling-16x-higher-capacity',
  sqsParameters: 'https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html',
  maxConcurrency:
    'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-eventsourcemapping-scalingconfig.html',
  lambdaScaling: 'https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html',
  lambdaConcurrency: 'https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html',
  apiGatewayQuotas: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html',
  sqsQuotas: 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html',
  dynamodbPartitions: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html',
  dynamodbGsiThrottling: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/gsi-throttling.html',
  prices: 'bench/prices.ts (us-east-1 list prices)',
} as const;

/** AWS's numbers, each from {@link SOURCES}. */
export const AWS_LIMITS = {
  /** Standard scaling of an SQS mapping: five concurrent batches at first, +300 a minute, at most 1,250. */
  standard: { initial: 5, perMinute: 300, max: 1_250 },
  /** Provisioned mode: up to 1,000 more concurrent invocations a minute, up to 20,000. */
  provisioned: { perMinute: 1_000, max: 20_000 },
  /** Lambda adds at most 1,000 execution environments every 10 seconds per function. */
  lambdaScalingPerSecond: 100,
  /** API Gateway's throttle per account and region (HTTP, REST and WebSocket APIs together). */
  apiGatewayAccountRps: 10_000,
  /** Messages received and not yet deleted, per standard queue. */
  sqsInFlight: 120_000,
  /** Per DynamoDB partition (a key's items live in one unless split for heat; a rising sort key defeats that). */
  partitionWriteUnits: 1_000,
  partitionReadUnits: 3_000,
} as const;

/** The limits the model knows, by what an operator would change. */
export type LimitName =
  | 'arrival'
  | 'apiStageThrottle'
  | 'apiAccountThrottle'
  | 'apiConcurrency'
  | 'ownerIndexPartition'
  | 'tableWriteCeiling'
  | 'mappingRamp'
  | 'mappingMaximum'
  | 'laneConcurrency'
  | 'accountConcurrency'
  | 'sqsInFlight'
  | 'ownerSubmitRate'
  | 'ownerConcurrency';

export interface CapacityInputs {
  /** Tasks a second the clients offer. */
  readonly rate: number;
  /** Tasks in the burst. */
  readonly burst: number;
  /** How long one task's `run` takes. */
  readonly taskMs: number;
  /** The deployment's settings (its lanes included). */
  readonly settings: Settings;
  /** @default the default lane */
  readonly lane?: string;
  /**
   * `aws`: the documented scaling and quotas. `local`: the local stack, whose pollers all start at once
   * and which has no API, DynamoDB or account limits.
   * @default 'aws'
   */
  readonly profile?: 'aws' | 'local';
  /** Owners submitting the burst, evenly: one busy owner puts every index write on one partition. @default 1 */
  readonly owners?: number;
  /** Per invocation on top of its tasks: receive, claims, finishing writes, delete. @default 40 (aws), 25 (local) */
  readonly overheadMs?: number;
  /** Billed duration of one submit in the API Lambda. @default 30 */
  readonly submitMs?: number;
  /** Progress writes a task makes (each one write unit). @default 0 */
  readonly progressWrites?: number;
  /** The account's Lambda concurrency quota. @default settings.lambda.accountConcurrency */
  readonly accountConcurrency?: number;
  /** The size of one step of the model. @default a tenth of a task, between 50 ms and 1 s */
  readonly stepMs?: number;
}

export interface Limit {
  readonly name: LimitName;
  readonly description: string;
  /** Tasks a second (or invocations, or messages) the limit allows. */
  readonly value: number;
  readonly unit: string;
  readonly source: string;
}

export interface CapacityResult {
  readonly lane: Lane;
  readonly profile: 'aws' | 'local';
  readonly drainSeconds: number;
  /** When the last task was admitted. */
  readonly submitSeconds: number;
  /** Submissions a second the API path admits. */
  readonly admissionRate: number;
  readonly peakConcurrency: number;
  readonly peakTasksRunning: number;
  readonly peakBacklog: number;
  /** Tasks a second the lane completes once fully scaled. */
  readonly steadyThroughput: number;
  readonly limits: readonly Limit[];
  /** The first limit to hold the run back, and when. */
  readonly bindsFirst?: { readonly limit: Limit; readonly atSeconds: number };
  /** The limit that held the run back longest: the one to raise to drain sooner. */
  readonly bindsLongest?: { readonly limit: Limit; readonly seconds: number };
  /** Seconds each limit held the run back. */
  readonly bound: Partial<Record<LimitName, number>>;
  readonly cost: { readonly totalUsd: number; readonly perMillionUsd: number; readonly lines: readonly CostLine[] };
  readonly notes: readonly string[];
}

/** The item sizes the benchmark measured (bench/results/latest.json), used for the write units and storage. */
const ITEM_BYTES = { queued: 300, running: 170, finished: 180 };

export function modelCapacity(inputs: CapacityInputs): CapacityResult {
  const s = inputs.settings;
  const profile = inputs.profile ?? 'aws';
  const aws = profile === 'aws';
  const lanes = lanesOf(s);
  const lane = lanes.find((candidate) => candidate.name === (inputs.lane ?? lanes[0]?.name));
  if (!lane) throw new Error(`No lane "${inputs.lane}": the lanes are ${lanes.map((l) => l.name).join(', ')}.`);
  const owners = Math.max(1, inputs.owners ?? 1);
  const overheadMs = inputs.overheadMs ?? (aws ? 40 : 25);
  const submitMs = inputs.submitMs ?? 30;
  const progressWrites = inputs.progressWrites ?? 0;
  const accountConcurrency = inputs.accountConcurrency ?? s.lambda.accountConcurrency;
  const invocationSeconds = (inputs.taskMs + overheadMs) / 1000;
  const batch = lane.batchSize;

  // The limits, as rates or counts.
  const reserved = Object.entries(reservedConcurrency(s));
  const otherReservations = reserved
    .filter(([name]) => name !== (lane.name === lanes[0]?.name ? 'worker' : `lane:${lane.name}`))
    .reduce((sum, [, n]) => sum + n, 0);
  const scaling = lane.scaling;
  const mappingMaximum = scaling.mode === 'standard' ? AWS_LIMITS.standard.max : AWS_LIMITS.provisioned.max;
  const limit = (name: LimitName, description: string, value: number, unit: string, source: string): Limit => ({
    name,
    description,
    value,
    unit,
    source,
  });
  const { submitRate, ownerConcurrency } = s.fairness;
  const limits: Limit[] = [
    limit('arrival', 'the rate the clients offer', inputs.rate, 'tasks/s', 'the --rate asked for'),
    // The per-owner limits (settings.fairness), when on: offload's own, the same in both profiles.
    ...(submitRate.enabled
      ? [
          limit(
            'ownerSubmitRate',
            `the per-owner submit rate limit (${submitRate.maxTasks} per ${submitRate.windowSeconds} s) × ${owners} owner${owners === 1 ? '' : 's'}`,
            (owners * submitRate.maxTasks) / submitRate.windowSeconds,
            'tasks/s',
            'settings.fairness.submitRate (README "Fair share under load")',
          ),
        ]
      : []),
    ...(ownerConcurrency.enabled
      ? [
          limit(
            'ownerConcurrency',
            `the per-owner concurrency limit (${ownerConcurrency.maxRunning} running) × ${owners} owner${owners === 1 ? '' : 's'}`,
            owners * ownerConcurrency.maxRunning,
            'tasks',
            'settings.fairness.ownerConcurrency (README "Fair share under load")',
          ),
        ]
      : []),
    ...(aws
      ? [
          limit(
            'apiStageThrottle',
            'API Gateway stage throttle (settings.api.throttleRateLimit)',
            s.api.throttleRateLimit,
            'requests/s',
            'infra/settings.ts',
          ),
          limit(
            'apiAccountThrottle',
            "API Gateway's throttle per account and region",
            AWS_LIMITS.apiGatewayAccountRps,
            'requests/s',
            SOURCES.apiGatewayQuotas,
          ),
          limit(
            'apiConcurrency',
            `the API Lambda's reserved concurrency (${s.api.reservedConcurrency}) over a ${submitMs}-ms submit`,
            s.api.reservedConcurrency / (submitMs / 1000),
            'submits/s',
            SOURCES.lambdaConcurrency,
          ),
          limit(
            'ownerIndexPartition',
            `the owner index: one partition per owner, ${owners} owner(s), one write unit per submit`,
            owners * AWS_LIMITS.partitionWriteUnits,
            'submits/s',
            `${SOURCES.dynamodbPartitions}; ${SOURCES.dynamodbGsiThrottling}`,
          ),
          limit(
            'tableWriteCeiling',
            `the table's on-demand write ceiling (settings.store, ${s.store.maxWriteRequestUnitsPerSecond} WRU/s) at ${3 + progressWrites} writes a task`,
            s.store.maxWriteRequestUnitsPerSecond / (3 + progressWrites),
            'tasks/s',
            'infra/settings.ts',
          ),
          limit(
            'mappingRamp',
            scaling.mode === 'standard'
              ? `the mapping's standard scaling: ${AWS_LIMITS.standard.initial} at first, +${AWS_LIMITS.standard.perMinute} a minute`
              : `the mapping's provisioned scaling: ${scaling.minimumPollers} pollers (${scaling.minimumPollers * INVOCATIONS_PER_POLLER} invocations) at first, +${AWS_LIMITS.provisioned.perMinute} a minute`,
            scaling.mode === 'standard' ? AWS_LIMITS.standard.perMinute : AWS_LIMITS.provisioned.perMinute,
            'invocations/min',
            scaling.mode === 'standard' ? SOURCES.sqsScaling : SOURCES.provisionedMode,
          ),
          limit(
            'mappingMaximum',
            scaling.mode === 'standard'
              ? 'the most a standard mapping runs at once'
              : 'the most a provisioned mapping runs at once',
            mappingMaximum,
            'invocations',
            scaling.mode === 'standard' ? SOURCES.sqsScaling : SOURCES.provisionedMode,
          ),
        ]
      : []),
    limit(
      'laneConcurrency',
      scaling.mode === 'standard'
        ? `lane ${lane.name}'s maxConcurrency (its reserved concurrency, less the high-priority share)`
        : `lane ${lane.name}'s maximumPollers × ${INVOCATIONS_PER_POLLER}`,
      lane.normalConcurrency,
      'invocations',
      SOURCES.maxConcurrency,
    ),
    ...(aws
      ? [
          limit(
            'accountConcurrency',
            `the account's Lambda quota (${accountConcurrency}) less ${LAMBDA_UNRESERVED_MINIMUM} unreserved, the other functions' ${otherReservations} and the lane's high-priority ${lane.highPriorityConcurrency}`,
            Math.max(
              0,
              accountConcurrency - LAMBDA_UNRESERVED_MINIMUM - otherReservations - lane.highPriorityConcurrency,
            ),
            'invocations',
            SOURCES.lambdaConcurrency,
          ),
          limit(
            'sqsInFlight',
            `SQS's in-flight messages per standard queue, at ${batch} a batch`,
            Math.floor(AWS_LIMITS.sqsInFlight / batch),
            'invocations',
            SOURCES.sqsQuotas,
          ),
        ]
      : []),
  ];
  const byName = new Map(limits.map((entry) => [entry.name, entry]));
  const limitValue = (name: LimitName) => byName.get(name)?.value ?? Number.POSITIVE_INFINITY;

  // What the API path admits: the smallest of its limits.
  const admissionLimits: LimitName[] = [
    'arrival',
    'apiStageThrottle',
    'apiAccountThrottle',
    'apiConcurrency',
    'ownerIndexPartition',
    'ownerSubmitRate',
  ];
  const admission = admissionLimits.reduce(
    (lowest, name) => (limitValue(name) < lowest.value ? { name, value: limitValue(name) } : lowest),
    { name: 'arrival' as LimitName, value: inputs.rate },
  );
  // Invocations at most, fully scaled: the smallest static ceiling.
  const concurrencyLimits: LimitName[] = ['mappingMaximum', 'laneConcurrency', 'accountConcurrency', 'sqsInFlight'];
  const ceiling = concurrencyLimits.reduce(
    (lowest, name) => (limitValue(name) < lowest.value ? { name, value: limitValue(name) } : lowest),
    { name: 'laneConcurrency' as LimitName, value: limitValue('laneConcurrency') },
  );
  const tableTasksPerSecond = limitValue('tableWriteCeiling');
  // Tasks of the burst's owners RUNNING at once at most; the others wait QUEUED for a slot.
  const ownerSlots = limitValue('ownerConcurrency');
  const writesPerRun = 2 + progressWrites;

  // A whole number of steps per invocation, so an invocation frees its slot exactly when it ends.
  const targetStep = (inputs.stepMs ?? Math.min(1_000, Math.max(50, inputs.taskMs / 10))) / 1000;
  const stepsPerInvocation = Math.max(1, Math.round(invocationSeconds / targetStep));
  const step = invocationSeconds / stepsPerInvocation;
  const rampPerSecond = aws
    ? (scaling.mode === 'standard' ? AWS_LIMITS.standard.perMinute : AWS_LIMITS.provisioned.perMinute) / 60
    : Number.POSITIVE_INFINITY;
  const initialConcurrency = aws
    ? scaling.mode === 'standard'
      ? AWS_LIMITS.standard.initial
      : scaling.minimumPollers * INVOCATIONS_PER_POLLER
    : ceiling.value;

  // The run, step by step.
  let t = 0;
  let submitted = 0;
  let done = 0;
  let backlog = 0;
  let busy = 0;
  let busyTasks = 0;
  let concurrency = 0;
  let submitSeconds = 0;
  let peakConcurrency = 0;
  let peakTasksRunning = 0;
  let peakBacklog = 0;
  let credit = 0;
  // Counted in whole steps, so no rounding error accumulates over a long run.
  const running: Array<{ readonly endsAtStep: number; readonly invocations: number; readonly tasks: number }> = [];
  const bound: Partial<Record<LimitName, number>> = {};
  let bindsFirst: CapacityResult['bindsFirst'];
  const hold = (name: LimitName, seconds: number) => {
    bound[name] = (bound[name] ?? 0) + seconds;
    if (!bindsFirst && name !== 'arrival') bindsFirst = { limit: byName.get(name) as Limit, atSeconds: t };
  };
  const maxSteps = 50_000_000;
  for (let n = 0; done < inputs.burst; n++) {
    if (n > maxSteps) throw new Error('The model did not drain: a limit is zero.');
    t = n * step;
    // Invocations that end now free their slots.
    while (running.length > 0 && (running[0]?.endsAtStep ?? Number.POSITIVE_INFINITY) <= n) {
      const ended = running.shift();
      if (!ended) break;
      busy -= ended.invocations;
      busyTasks -= ended.tasks;
      done += ended.tasks;
    }
    // Admissions: the clients' rate, held back by the API path's tightest limit.
    let admit = 0;
    const submitting = submitted < inputs.burst;
    if (submitting) {
      credit += admission.value * step;
      admit = Math.min(inputs.burst - submitted, Math.floor(credit));
    }
    // The mapping scales while messages wait, up to its ceiling.
    if (backlog + admit > 0 || busy > 0) {
      concurrency = concurrency === 0 ? Math.min(initialConcurrency, ceiling.value) : concurrency;
      if (backlog > 0) concurrency = Math.min(ceiling.value, concurrency + rampPerSecond * step);
    }
    // Batches start in the free slots.
    const free = Math.max(0, Math.floor(concurrency) - busy);
    const wanted = Math.ceil(backlog / batch);
    let invocations = Math.min(free, wanted);
    let starts = Math.min(backlog, invocations * batch);
    // Held back only when at least a whole batch is left waiting for a slot, not a straggler for a step.
    if (backlog - starts >= batch) {
      hold(Math.floor(concurrency) < ceiling.value ? 'mappingRamp' : ceiling.name, step);
    }
    if (busyTasks + starts > ownerSlots) {
      // The owners' slots are taken: the rest waits QUEUED for them (its messages poll a little meanwhile).
      const room = Math.max(0, ownerSlots - busyTasks);
      if (starts - room >= batch) hold('ownerConcurrency', step);
      starts = room;
      invocations = Math.ceil(starts / batch);
    }
    // The table's write ceiling is shared by submits (1 write each) and runs (claim, finish, progress).
    const units = admit + writesPerRun * starts;
    const budget = s.store.maxWriteRequestUnitsPerSecond * step;
    if (aws && units > budget) {
      const share = budget / units;
      admit = Math.floor(admit * share);
      starts = Math.floor(starts * share);
      invocations = Math.ceil(starts / batch);
      hold('tableWriteCeiling', step);
    } else if (submitting) {
      hold(admission.name, step);
    }
    credit -= admit;
    submitted += admit;
    if (submitted >= inputs.burst && submitSeconds === 0) submitSeconds = t + step;
    if (starts > 0) {
      running.push({ endsAtStep: n + stepsPerInvocation, invocations, tasks: starts });
      busy += invocations;
      busyTasks += starts;
      backlog -= starts;
    }
    backlog += admit;
    peakConcurrency = Math.max(peakConcurrency, busy);
    peakTasksRunning = Math.max(peakTasksRunning, busyTasks);
    peakBacklog = Math.max(peakBacklog, backlog);
  }

  const longest = Object.entries(bound).sort(([, a], [, b]) => (b ?? 0) - (a ?? 0))[0];
  const invocationsPerTask = 1 / batch;
  const cost = costPerMillionTasks({
    requestsPerTask: {
      'DynamoDB PutItem': 1,
      'SQS SendMessage': 1,
      'DynamoDB UpdateItem': 2 + progressWrites,
      'SQS ReceiveMessage': invocationsPerTask,
      'SQS DeleteMessageBatch': invocationsPerTask,
    },
    workerInvocationsPerTask: invocationsPerTask,
    itemBytes: ITEM_BYTES,
    indexesWritten: 1,
    consistentPoll: true,
    durationsMs: { submit: submitMs, poll: 10, worker: inputs.taskMs + overheadMs },
    memoryMiB: { api: s.api.memoryMiB, worker: lane.memoryMiB },
    sqsMessageBytes: 80,
    retentionDays: s.tasks.ttlDays,
    sweepIntervalMinutes: s.recovery.intervalMinutes,
  });
  const notes = [
    ...(aws && limitValue('laneConcurrency') > limitValue('accountConcurrency')
      ? [
          `Lane ${lane.name}'s ${lane.normalConcurrency} invocations do not fit the account's quota: cdk synth refuses these reservations until the quota is raised (--account-concurrency).`,
        ]
      : []),
    `Each invocation runs its batch's ${batch} record(s) side by side and lasts one task plus ${overheadMs} ms: right for tasks that wait on I/O; a CPU-bound task in a batch of more than one takes longer.`,
    'Submissions count against the API limits; status polls do too, and are not modelled (the cost has one poll per task).',
    ...(scaling.mode === 'provisioned'
      ? [
          'Provisioned mode bills its pollers (event poller units) by the hour, traffic or not; that charge is not in the cost.',
        ]
      : []),
    ...(owners === 1 && aws
      ? [
          `One owner: every submit writes the owner index under one partition key, ${AWS_LIMITS.partitionWriteUnits} writes/s at most (its sort key, createdAt, only rises, so DynamoDB cannot split it for heat).`,
        ]
      : []),
  ];
  return {
    lane,
    profile,
    drainSeconds: t,
    submitSeconds,
    admissionRate: Math.min(admission.value, tableTasksPerSecond),
    peakConcurrency,
    peakTasksRunning,
    peakBacklog,
    steadyThroughput: Math.min(Math.min(ceiling.value * batch, ownerSlots) / invocationSeconds, tableTasksPerSecond),
    limits,
    bindsFirst,
    ...(longest && { bindsLongest: { limit: byName.get(longest[0] as LimitName) as Limit, seconds: longest[1] ?? 0 } }),
    bound,
    cost: {
      totalUsd: (cost.totalUsd * inputs.burst) / 1e6,
      perMillionUsd: cost.totalUsd,
      lines: cost.lines,
    },
    notes,
  };
}
