import type { TaskRegistry } from '../functions/tasks/define-task.js';
import {
  DEFAULT_HIGH_PRIORITY_CONCURRENCY,
  DEFAULT_LANE,
  LANE_NAME,
  type LaneSettings,
  type LaneTable,
} from '../shared/lanes.js';
import { MAX_VISIBILITY_SECONDS, MAX_VISIBILITY_WAIT_SECONDS } from '../shared/time.js';
import type { Settings } from './settings.js';

export type { LaneSettings };

/** Lanes by name, as settings hold them. */
export type LaneSettingsMap = Readonly<Record<string, LaneSettings>>;

/** What `lanes.default` may set: the default lane's other numbers are `worker`'s, `tasks`'s and `recovery`'s. */
const DEFAULT_LANE_FIELDS: ReadonlySet<string> = new Set<keyof LaneSettings>([
  'minimumPollers',
  'maximumPollers',
  'highPriorityConcurrency',
]);

/** Every field a lane may set, for the check of names and kinds in `withOverrides`. */
export const LANE_FIELDS: ReadonlySet<string> = new Set<keyof LaneSettings>([
  'timeoutSeconds',
  'memoryMiB',
  'batchSize',
  'maxBatchingWindowSeconds',
  'maxConcurrency',
  'minimumPollers',
  'maximumPollers',
  'highPriorityConcurrency',
  'retryBaseDelaySeconds',
  'retryMaxDelaySeconds',
  'staleAfterSeconds',
  'oldestMessageAlarmSeconds',
]);

/**
 * Lanes at most. Every function's environment names every lane's queues (OFFLOAD_LANES, about 250
 * bytes a lane), and Lambda allows 4 KB of environment in all.
 */
export const MAX_LANES = 8;

/** Pollers a provisioned mapping keeps at least when none is set: AWS's default (and minimum) for SQS. */
const DEFAULT_MINIMUM_POLLERS = 2;

/** Concurrent invocations one provisioned event poller can run (Lambda developer guide, SQS parameters). */
export const INVOCATIONS_PER_POLLER = 10;

/** A lane with every number resolved, and the numbers derived from them. */
export interface Lane {
  readonly name: string;
  readonly timeoutSeconds: number;
  readonly memoryMiB: number;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly scaling:
    | { readonly mode: 'standard'; readonly maxConcurrency: number }
    | { readonly mode: 'provisioned'; readonly minimumPollers: number; readonly maximumPollers: number };
  /** Invocations the normal queue's mapping may run at once: `maxConcurrency`, or 10 per provisioned poller. */
  readonly normalConcurrency: number;
  readonly highPriorityConcurrency: number;
  /** The worker's reserved concurrency: both mappings' maxima, so neither is ever throttled by the other. */
  readonly reservedConcurrency: number;
  /** The high-priority mapping's batch: never held back by a batching window. */
  readonly highPriorityBatchSize: number;
  readonly retryBaseDelaySeconds: number;
  readonly retryMaxDelaySeconds: number;
  /** 6 × the timeout + the batching window (AWS guidance), for both of the lane's queues. */
  readonly visibilityTimeoutSeconds: number;
  /** How long a crash-looping message takes to reach the dead-letter queue: maxReceiveCount visibility timeouts, plus the lease grace. */
  readonly deadLetterHorizonSeconds: number;
  readonly staleAfterSeconds: number;
  readonly oldestMessageAlarmSeconds: number;
}

const isDefault = (name: string) => name === DEFAULT_LANE;

/**
 * Every lane of `s`, the default lane first. The default lane's numbers are `worker` (and `lanes.default`
 * for what `worker` lacks); another lane's fields left out are the default lane's. `visibility`
 * overrides the default lane's visibility timeout (tests that need redelivery within seconds).
 */
export function lanesOf(s: Settings, visibility?: number): Lane[] {
  const defaultLane = resolve(DEFAULT_LANE, { ...s.worker, ...s.lanes[DEFAULT_LANE] }, s, visibility);
  const others = Object.entries(s.lanes)
    .filter(([name]) => !isDefault(name))
    .map(([name, lane]) => {
      // A lane in provisioned mode does not inherit the default lane's maxConcurrency, nor the other way round.
      const scaling =
        lane.maximumPollers !== undefined || lane.minimumPollers !== undefined || lane.maxConcurrency !== undefined
          ? {}
          : {
              maxConcurrency: s.worker.maxConcurrency,
              minimumPollers: s.lanes[DEFAULT_LANE]?.minimumPollers,
              maximumPollers: s.lanes[DEFAULT_LANE]?.maximumPollers,
            };
      const inherited = { ...s.worker, highPriorityConcurrency: defaultLane.highPriorityConcurrency };
      const { maxConcurrency: _m, ...withoutConcurrency } = inherited;
      return resolve(name, { ...withoutConcurrency, ...scaling, ...lane }, s, undefined, defaultLane);
    });
  return [defaultLane, ...others];
}

/** The default lane of `s`. */
export const defaultLaneOf = (s: Settings, visibility?: number): Lane => lanesOf(s, visibility)[0] as Lane;

function resolve(name: string, lane: LaneSettings, s: Settings, visibility?: number, defaultLane?: Lane): Lane {
  const timeoutSeconds = lane.timeoutSeconds ?? s.worker.timeoutSeconds;
  const maxBatchingWindowSeconds = lane.maxBatchingWindowSeconds ?? 0;
  const provisioned = lane.maximumPollers !== undefined || lane.minimumPollers !== undefined;
  const scaling: Lane['scaling'] = provisioned
    ? {
        mode: 'provisioned',
        minimumPollers: lane.minimumPollers ?? DEFAULT_MINIMUM_POLLERS,
        maximumPollers: lane.maximumPollers ?? 0,
      }
    : { mode: 'standard', maxConcurrency: lane.maxConcurrency ?? s.worker.maxConcurrency };
  const normalConcurrency =
    scaling.mode === 'standard' ? scaling.maxConcurrency : scaling.maximumPollers * INVOCATIONS_PER_POLLER;
  const highPriorityConcurrency = lane.highPriorityConcurrency ?? DEFAULT_HIGH_PRIORITY_CONCURRENCY;
  const batchSize = lane.batchSize ?? s.worker.batchSize;
  const visibilityTimeoutSeconds = visibility ?? 6 * timeoutSeconds + maxBatchingWindowSeconds;
  const deadLetterHorizonSeconds = s.queue.maxReceiveCount * visibilityTimeoutSeconds + s.tasks.leaseGraceSeconds;
  // Another lane waits in the same ratio to its own horizon as the default lane does to its own.
  const staleAfterSeconds =
    lane.staleAfterSeconds ??
    (defaultLane
      ? Math.max(
          s.recovery.staleAfterSeconds,
          Math.ceil((deadLetterHorizonSeconds * s.recovery.staleAfterSeconds) / defaultLane.deadLetterHorizonSeconds),
        )
      : s.recovery.staleAfterSeconds);
  return {
    name,
    timeoutSeconds,
    memoryMiB: lane.memoryMiB ?? s.worker.memoryMiB,
    batchSize,
    maxBatchingWindowSeconds,
    scaling,
    normalConcurrency,
    highPriorityConcurrency,
    reservedConcurrency: normalConcurrency + highPriorityConcurrency,
    highPriorityBatchSize: Math.min(batchSize, 10),
    retryBaseDelaySeconds: lane.retryBaseDelaySeconds ?? s.tasks.retryBaseDelaySeconds,
    retryMaxDelaySeconds: lane.retryMaxDelaySeconds ?? s.tasks.retryMaxDelaySeconds,
    visibilityTimeoutSeconds,
    deadLetterHorizonSeconds,
    staleAfterSeconds,
    oldestMessageAlarmSeconds:
      lane.oldestMessageAlarmSeconds ?? Math.max(s.observability.alarms.oldestMessageAgeSeconds, 2 * timeoutSeconds),
  };
}

/**
 * The lane table the functions get (OFFLOAD_LANES): each lane's queue URLs and sweep stale time.
 * `queueUrls` gives the URLs (tokens in CDK, emulator URLs locally) by lane name.
 */
export function laneTable(
  lanes: readonly Lane[],
  queueUrls: (lane: Lane) => { readonly normal: string; readonly high: string },
): LaneTable {
  return Object.fromEntries(
    lanes.map((lane) => [lane.name, { queues: queueUrls(lane), staleAfterSeconds: lane.staleAfterSeconds }]),
  );
}

/** Lambda's limits the lanes must respect. */
const LIMITS = {
  timeoutSeconds: { min: 1, max: 900 },
  memoryMiB: { min: 128, max: 10_240 },
  batchSize: { min: 1, max: 10_000 },
  maxBatchingWindowSeconds: { min: 0, max: 300 },
  maxConcurrency: { min: 2, max: 1_000 },
  minimumPollers: { min: 2, max: 200 },
  maximumPollers: { min: 2, max: 2_000 },
  highPriorityConcurrency: { min: 2, max: 1_000 },
} as const;

/**
 * Every way the lanes contradict each other, an AWS limit or the task types: the lane-shaped part of
 * infra/validate-settings.ts (which checks the default lane's `worker` numbers itself).
 */
export function laneProblems(s: Settings, registry: TaskRegistry, visibility?: number): string[] {
  const problems: string[] = [];
  const names = Object.keys(s.lanes);
  for (const name of names) {
    if (!LANE_NAME.test(name)) {
      problems.push(`Lane name "${name}": a lower-case letter, then up to 31 lower-case letters, digits or "-".`);
    }
  }
  const defaultFields = Object.keys(s.lanes[DEFAULT_LANE] ?? {}).filter((field) => !DEFAULT_LANE_FIELDS.has(field));
  for (const field of defaultFields) {
    problems.push(
      `lanes.default.${field}: the default lane's ${field} is a setting of its own (worker, tasks, recovery or observability); lanes.default takes only ${[...DEFAULT_LANE_FIELDS].join(', ')}.`,
    );
  }
  const lanes = lanesOf(s, visibility);
  if (lanes.length > MAX_LANES) {
    problems.push(
      `${lanes.length} lanes: at most ${MAX_LANES} (every function's environment lists every lane's queues, and Lambda allows 4 KB).`,
    );
  }
  for (const lane of lanes) {
    const given: LaneSettings = isDefault(lane.name) ? { ...s.lanes[DEFAULT_LANE] } : (s.lanes[lane.name] ?? {});
    problems.push(...oneLaneProblems(lane, given, s));
  }
  const known = lanes.map((lane) => lane.name);
  for (const [type, definition] of registry) {
    const lane = definition.lane ?? DEFAULT_LANE;
    if (!known.includes(lane)) {
      problems.push(
        `Task type "${type}" runs in lane "${lane}", which this deployment does not have (lanes: ${known.join(', ')}). Add it to lanes.`,
      );
    }
  }
  return problems;
}

function oneLaneProblems(lane: Lane, given: LaneSettings, s: Settings): string[] {
  const problems: string[] = [];
  const at = `lanes.${lane.name}`;
  const range = (field: keyof typeof LIMITS, value: number | undefined) => {
    const { min, max } = LIMITS[field];
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
      problems.push(`${at}.${field} is ${value}: ${min} to ${max.toLocaleString('en-US')} whole.`);
    }
  };
  // The default lane's own numbers are checked as worker.* by validate-settings.
  if (!isDefault(lane.name)) {
    range('timeoutSeconds', lane.timeoutSeconds);
    range('memoryMiB', lane.memoryMiB);
    range('batchSize', lane.batchSize);
    range('maxBatchingWindowSeconds', lane.maxBatchingWindowSeconds);
    if (lane.batchSize > 10 && lane.maxBatchingWindowSeconds < 1) {
      problems.push(`${at}.batchSize ${lane.batchSize} above 10 needs maxBatchingWindowSeconds of at least 1.`);
    }
  }
  range('highPriorityConcurrency', lane.highPriorityConcurrency);
  if (
    given.maxConcurrency !== undefined &&
    (given.minimumPollers !== undefined || given.maximumPollers !== undefined)
  ) {
    problems.push(
      `${at} sets maxConcurrency and provisioned pollers: provisioned mode (minimumPollers, maximumPollers) excludes maxConcurrency; choose one.`,
    );
  }
  if (lane.scaling.mode === 'standard') {
    if (!isDefault(lane.name)) range('maxConcurrency', lane.scaling.maxConcurrency);
  } else {
    if (given.maximumPollers === undefined && !isDefault(lane.name)) {
      problems.push(`${at}.minimumPollers without maximumPollers: provisioned mode needs maximumPollers (2 to 2,000).`);
    }
    range('minimumPollers', lane.scaling.minimumPollers);
    range('maximumPollers', lane.scaling.maximumPollers);
    if (lane.scaling.minimumPollers > lane.scaling.maximumPollers) {
      problems.push(
        `${at}.minimumPollers (${lane.scaling.minimumPollers}) exceeds maximumPollers (${lane.scaling.maximumPollers}).`,
      );
    }
  }
  if (!isDefault(lane.name)) {
    if (lane.visibilityTimeoutSeconds > MAX_VISIBILITY_SECONDS) {
      problems.push(
        `${at}: the visibility timeout (6 × timeoutSeconds + maxBatchingWindowSeconds = ${lane.visibilityTimeoutSeconds} s) exceeds SQS's ${MAX_VISIBILITY_SECONDS} s.`,
      );
    }
    if (lane.retryMaxDelaySeconds < lane.retryBaseDelaySeconds) {
      problems.push(
        `${at}.retryMaxDelaySeconds (${lane.retryMaxDelaySeconds}) is below retryBaseDelaySeconds (${lane.retryBaseDelaySeconds}).`,
      );
    }
    if (lane.retryMaxDelaySeconds > MAX_VISIBILITY_WAIT_SECONDS) {
      problems.push(
        `${at}.retryMaxDelaySeconds is ${lane.retryMaxDelaySeconds}: a retry waits on its message's visibility, at most ${MAX_VISIBILITY_WAIT_SECONDS} s (SQS's 12 hours count from the receive).`,
      );
    }
    if (lane.staleAfterSeconds <= lane.deadLetterHorizonSeconds) {
      problems.push(
        `${at}.staleAfterSeconds (${lane.staleAfterSeconds}) must exceed maxReceiveCount × the lane's visibility timeout + the lease grace (${lane.deadLetterHorizonSeconds} s): the sweep would re-enqueue tasks whose message is still on its way to the dead-letter queue.`,
      );
    }
  }
  if (lane.oldestMessageAlarmSeconds <= lane.timeoutSeconds) {
    problems.push(
      `${at}: the oldest-message alarm (${lane.oldestMessageAlarmSeconds} s) must exceed the lane's timeout (${lane.timeoutSeconds} s): a running task's message counts as queued, and the alarm would fire on every long task.`,
    );
  }
  if (lane.visibilityTimeoutSeconds < lane.timeoutSeconds + s.tasks.leaseGraceSeconds + 1 && !isDefault(lane.name)) {
    problems.push(
      `${at}: the visibility timeout (${lane.visibilityTimeoutSeconds} s) must exceed its timeout + tasks.leaseGraceSeconds (${lane.timeoutSeconds + s.tasks.leaseGraceSeconds} s).`,
    );
  }
  return problems;
}
