/**
 * Every number that both the CDK stack and the local stack need, in one place.
 * The Lambdas never import this module: they receive what they need through the
 * environment built by {@link functionEnvironment}.
 */
import { DEFAULT_HIGH_PRIORITY_CONCURRENCY } from '../shared/lanes.js';
import { LANE_FIELDS, type LaneSettingsMap, lanesOf } from './lanes.js';

type DeepReadonly<T> = { readonly [K in keyof T]: T[K] extends object ? DeepReadonly<T[K]> : T[K] };

const defaults = {
  api: {
    /** Largest accepted request body. */
    maxBodyBytes: 256 * 1024,
    /** Seconds a client should wait before polling a task that is not finished. */
    retryAfterSeconds: 1,
    /** Steady-state requests per second allowed by the HTTP API stage. */
    throttleRateLimit: 100,
    /** Burst of requests allowed by the HTTP API stage. */
    throttleBurstLimit: 200,
    /**
     * Route limits of the public routes (`/health`, `/openapi.json`): anyone can call them without a
     * token, and each call runs the API Lambda, so they get far less than the stage's limits.
     */
    publicRouteRateLimit: 5,
    publicRouteBurstLimit: 10,
    timeoutSeconds: 10,
    memoryMiB: 512,
    /**
     * Reserved concurrency of the API Lambda: its ceiling and its guarantee. With a slow table, 100
     * requests/s × a 10 s timeout would be 1,000 concurrent executions, an account's whole default
     * quota, and the worker would starve; past this many the API is throttled (API Gateway answers 5xx).
     */
    reservedConcurrency: 100,
  },
  auth: {
    /**
     * Under `auth=iam`, roles whose every session owns its own tasks, instead of all sessions of the role
     * sharing one owner. List a role only if its trust policy fixes the session name to the caller's
     * identity (`sts:RoleSessionName` pinned, e.g. to `${aws:username}`): otherwise whoever may assume
     * the role picks another caller's session name and reads that caller's tasks. Role ARNs, e.g.
     * `arn:aws:iam::123456789012:role/people`; CDK context `iamPerSessionRoles` replaces the list.
     */
    iamPerSessionRoles: [] as string[],
    /**
     * Lifetime of the access and ID tokens of the stand-in Cognito user pool (5 to 1,440): a stolen token is
     * good for this long. Clients renew with their refresh token (30 days).
     */
    cognitoTokenMinutes: 15,
  },
  worker: {
    /** Lambda timeout: also the longest a single attempt of a task may run. */
    timeoutSeconds: 60,
    memoryMiB: 1024,
    /** Records per invocation (event source mapping BatchSize). */
    batchSize: 10,
    /** 0 = invoke as soon as a receive returns messages: lowest pickup latency. */
    maxBatchingWindowSeconds: 0,
    /** Concurrent invocations the event source mapping may run (AWS minimum is 2); also the worker's reserved concurrency. */
    maxConcurrency: 10,
  },
  queue: {
    /** Receives before SQS moves a message to the dead-letter queue. Above maxAttempts, so the worker's own accounting ends a task first and only crashes reach the DLQ. */
    maxReceiveCount: 5,
    retentionDays: 4,
    deadLetterRetentionDays: 14,
  },
  tasks: {
    /** Attempts a task gets unless its type says otherwise. */
    defaultMaxAttempts: 3,
    /** Base of the exponential retry backoff (full jitter). */
    retryBaseDelaySeconds: 2,
    /** Cap of the retry backoff. */
    retryMaxDelaySeconds: 300,
    /** Days a task is kept after it is created or finished (DynamoDB TTL). */
    ttlDays: 7,
    /** Seconds between a running task's checks for a cancel request (one read each, long tasks only). */
    cancelCheckSeconds: 5,
    /**
     * Added to the end of a worker invocation to make its lease: another delivery takes a task over
     * only this long after the attempt that held it must have ended, so clocks that disagree by
     * less than this never let two attempts of one task overlap.
     */
    leaseGraceSeconds: 5,
    /** Largest task result stored; a larger one fails the task with ResultTooLarge. */
    maxResultBytes: 256 * 1024,
  },
  taskData: {
    /**
     * Payloads and results whose JSON takes more bytes than this are kept in the task data bucket (S3), and
     * the task's item holds a reference: DynamoDB bills each of a task's writes, and every hourly recovery
     * Scan, by the item's size, so inline bytes are paid for again and again, while an object costs one PUT,
     * one GET and cheap storage. `npm run bench` prints both costs by size (README "Large inputs and
     * outputs"): they cross near 1.3 KB for payloads and 1.5 KB for results; 1 KB is the round number below
     * both. Raising it trades a little cost for the latency of an S3 PUT and GET on mid-sized payloads.
     */
    inlineMaxBytes: 1024,
    /**
     * The largest payload (uploaded through `POST /tasks/uploads`), result or artifact. The API reads an
     * upload whole to validate it, so api.memoryMiB must hold about four times this much.
     */
    maxObjectBytes: 100 * 1024 * 1024,
    /** How long a presigned upload URL is valid (S3 checks it when the upload starts). */
    uploadUrlSeconds: 300,
    /** How long a presigned download URL of a result or artifact is valid; each GET of the task mints new ones. */
    downloadUrlSeconds: 300,
    /** Files (`ctx.artifacts.put`) one attempt may write; their names and sizes are kept in the task's item. */
    maxArtifacts: 100,
  },
  store: {
    /**
     * On-demand ceilings of the task table and its owner index, in request units per second: a runaway
     * caller meets throttling (503 ServiceUnavailable, the DynamoDB throttling alarm) instead of an open-ended
     * bill. At these numbers reads cost at most $1.80 and writes $9 an hour (us-east-1). A small task takes
     * about 4 write units and 1 read unit end to end; a 256 KiB payload makes each of its writes 256 units.
     */
    maxReadRequestUnitsPerSecond: 4_000,
    maxWriteRequestUnitsPerSecond: 4_000,
    /**
     * Days of point-in-time recovery (1 to 35). Deleted and expired tasks stay restorable this long: an
     * erasure (npm run purge-owner) is complete only then.
     */
    pointInTimeRecoveryDays: 35,
  },
  dlq: {
    batchSize: 10,
    /** Concurrent invocations of the dead-letter mapping (AWS minimum is 2); also the function's reserved concurrency. */
    maxConcurrency: 2,
    /** Dead-letter Lambda timeout: well within the DLQ's visibility timeout. */
    timeoutSeconds: 30,
    memoryMiB: 256,
  },
  recovery: {
    /**
     * A task QUEUED this long past the time it could run (`runAtMs`: after its delay or retry
     * backoff), or RUNNING this long past its lease, has lost its message and is re-enqueued. Must
     * exceed maxReceiveCount × the visibility timeout (30 min by default): until then a message
     * whose invocations crash is still on its way to the dead-letter queue, which is not a loss.
     * Left unset, it grows with that horizon (a longer worker timeout) in the ratio the defaults have.
     */
    staleAfterSeconds: 45 * 60,
    /**
     * How often the sweep runs in AWS (EventBridge schedule). Each run scans the whole table (about 0.06
     * read units per ~500-byte task), so hourly it costs $1.3 per million tasks kept 7 days (npm run bench).
     */
    intervalMinutes: 60,
    /** How often the local stack sweeps (it also sweeps everything unfinished at start). */
    localIntervalSeconds: 60,
    /** The sweep scans the whole table: give it time. */
    timeoutSeconds: 300,
    memoryMiB: 256,
  },
  callbacks: {
    /** One POST to a receiver, connection to response, ends after this (a timeout is retried). */
    requestTimeoutSeconds: 10,
    /** Bytes of a receiver's response body read at most: only the status matters. */
    maxResponseBytes: 1024,
    /** Base of the exponential backoff between attempts (equal jitter: half to all of it). */
    retryBaseDelaySeconds: 5,
    /** Cap of one backoff. */
    retryMaxDelaySeconds: 3_600,
    /** Attempts go on this long after the task ended; then the callback is FAILED. */
    deliveryWindowHours: 24,
    /**
     * Versions of the signing keys, the current first. Rotation: put the new version in front (`[2, 1]`):
     * both sign every callback (Standard Webhooks allows several signatures) and `GET /callbacks/secret`
     * hands out the new one; once receivers have switched, drop the old one (`[2]`). Keys are derived from
     * the deployment key, so these numbers are not secret. CDK context `callbackSigningKeyVersions=2,1`.
     */
    signingKeyVersions: [1] as number[],
    /**
     * Delivery Lambda: it waits on receivers, it does not compute, so it gets Lambda's smallest memory;
     * a batch's POSTs run at once, so its timeout covers one request plus the table calls.
     */
    timeoutSeconds: 30,
    memoryMiB: 128,
    /** Records per delivery invocation (event source mapping BatchSize). */
    batchSize: 10,
    /** Concurrent delivery invocations (mapping maximum, AWS minimum 2); also the function's reserved concurrency. */
    maxConcurrency: 5,
    /** Receives before a delivery message goes to the delivery DLQ: retries are new messages, so only crashes count. */
    maxReceiveCount: 5,
    /** Longer than the delivery window, so messages survive a delivery function that is down for all of it. */
    retentionDays: 2,
    deadLetterRetentionDays: 14,
  },
  schedules: {
    /** Schedules one owner may have: one more is `400 TooManySchedules`. */
    maxPerOwner: 100,
    /** How far ahead `runAt` may be. */
    maxRunAtDays: 365,
    /**
     * A `runAt` up to this far ahead waits on the SQS delivery delay (SQS allows 900 s at most); further ahead,
     * on a one-time schedule. Tests shorten it to watch the schedule path in seconds.
     */
    runAtQueueDelayMaxSeconds: 900,
    /**
     * Scheduler's retry policy for a firing it could not deliver to the fire function (throttling, a fault):
     * retries, and the age after which it gives up and sends the firing to the dead-letter queue.
     */
    retryAttempts: 10,
    maxEventAgeSeconds: 3_600,
    /** How long failed firings wait on the dead-letter queue for someone to look at them. */
    deadLetterRetentionDays: 14,
    /** The fire function: submits one task per firing (or enqueues a `runAt` task). */
    fire: { timeoutSeconds: 30, memoryMiB: 256, reservedConcurrency: 10 },
  },
  observability: {
    /** Powertools log level of the functions (POWERTOOLS_LOG_LEVEL): DEBUG, INFO, WARN or ERROR. */
    logLevel: 'INFO',
    /** Alarm thresholds; each alarm fires after `evaluationMinutes` consecutive breaching minutes (the DLQ one at once). */
    alarms: {
      /** Oldest message in the task queue, in seconds: tasks wait longer than this before a worker takes them. */
      oldestMessageAgeSeconds: 300,
      /** Worker invocations that failed as a whole (crash, timeout), in percent of invocations. */
      workerErrorRatePercent: 5,
      /** API responses with a 5xx status, in percent of requests. */
      apiServerErrorRatePercent: 1,
      /** Requests API Gateway throttled (429), in percent of requests: callers keep hitting the route limits. */
      apiThrottledRatePercent: 5,
      /** DynamoDB throttle events per minute, table and owner index, reads and writes: the ceilings are reached. */
      tableThrottleEventsPerMinute: 10,
      /**
       * Failed invocations of the dead-letter handler (crash, timeout; a record it cannot mark is retried, not
       * an error) within `evaluationMinutes`: dead-lettered tasks stay unfinished.
       */
      deadLetterHandlerErrors: 0,
      /**
       * Failed invocations of the recovery sweep within one sweep interval. EventBridge retries a failed run
       * twice, so more than 2 means a whole run failed.
       */
      recoverySweepErrors: 2,
      evaluationMinutes: 5,
    },
  },
  encryption: {
    /**
     * Encrypt the task table, queues, alarm topic, log groups and deployment key with one customer-managed
     * KMS key made by the stack (rotated yearly, retained with the table), instead of the AWS managed keys.
     * Costs $1 a month plus requests; `-c customerManagedKey=true` turns it on at deploy time.
     */
    customerManagedKey: false,
  },
  lambda: {
    /**
     * The account's Lambda concurrency quota in the region (1,000 by default; new accounts may have less).
     * The functions' reservations must fit in it; `-c accountConcurrency=N` overrides it at synth.
     */
    accountConcurrency: 1_000,
  },
  /**
   * Lanes (infra/lanes.ts `LaneSettings`): each besides `default` is a queue, a high-priority queue, a
   * dead-letter queue and a worker of its own, for the task types that name it (`defineTask({ lane })`).
   * A lane's fields left out are the default lane's. `default` takes only what `worker` lacks: the
   * high-priority concurrency and provisioned pollers. A task module may declare lanes too (its export
   * `lanes`); these settings override it field by field.
   */
  lanes: {
    default: { highPriorityConcurrency: DEFAULT_HIGH_PRIORITY_CONCURRENCY },
  } as LaneSettingsMap,
  fairness: {
    /**
     * Send every task message with its owner's MessageGroupId (a keyed hash, never the owner id): SQS fair
     * queues then deliver the messages of quiet owners before those of an owner with a large backlog.
     * Costs nothing; off only to measure the unfair baseline.
     */
    fairQueues: true,
    /**
     * At most `maxRunning` tasks of one owner RUNNING at once; the rest wait QUEUED, spending neither
     * attempts nor receives (README "Fair share under load"). Slots are leases in the fair-share table, so a
     * crashed worker's slot frees itself when its lease ends. A task type may set its own
     * `maxRunningPerOwner` (defineTask), counted apart from this one. A task that ends wakes the owner's oldest
     * waiting task at once; a waiting task's message also looks again after a growing wait of at most
     * `maxWaitSeconds` (1-900, SQS's longest delay), in case a wake-up was lost: shorter waits poll more.
     */
    ownerConcurrency: { enabled: false, maxRunning: 10, maxWaitSeconds: 300 },
    /**
     * At most `maxTasks` submitted tasks per owner in each window of `windowSeconds` (fixed windows: a burst
     * across a window boundary can reach twice that); over it the API answers 429 with Retry-After and
     * records nothing. One small write per submit request, in the fair-share table.
     */
    submitRate: { enabled: false, maxTasks: 600, windowSeconds: 60 },
  },
  local: {
    host: '127.0.0.1',
    port: 3000,
    /** Long-poll wait of the local event source mapping. */
    pollWaitSeconds: 20,
    /** How long a minute of a `rate()` schedule lasts in the local Scheduler; tests shorten it. */
    scheduleRateMinuteMs: 60_000,
  },
};

export type Settings = DeepReadonly<typeof defaults>;

export const settings: Settings = defaults;

/** Settings with any field left out: what a deployment overrides. Lists are replaced, not merged. */
export type SettingsOverrides = DeepPartial<Settings>;
type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/**
 * `base` with `overrides` applied, field by field. Throws, naming the field, on a name that is not a
 * setting (a typo would otherwise be ignored) and on a value of the wrong kind (a string where a
 * number belongs, a number that is not finite): the construct's props reach here from JavaScript
 * and from CDK context as well as from typed code.
 */
export function withOverrides(base: Settings, overrides: SettingsOverrides = {}): Settings {
  const merged = merge(base, overrides, '') as Settings;
  if (overrides.recovery?.staleAfterSeconds !== undefined) return merged;
  // Unless it is set, the sweep's stale time keeps its ratio to the dead-letter horizon, as each lane's does: a
  // longer worker timeout makes a crash-looping message take longer to reach the DLQ, and the sweep must not
  // take that wait for a loss (a 120-s worker would otherwise fail validation with the 45-min default).
  const scaled = Math.ceil(
    (deadLetterHorizonSeconds(merged) * base.recovery.staleAfterSeconds) / deadLetterHorizonSeconds(base),
  );
  return scaled > merged.recovery.staleAfterSeconds
    ? { ...merged, recovery: { ...merged.recovery, staleAfterSeconds: scaled } }
    : merged;
}

function merge(base: unknown, override: unknown, path: string): unknown {
  if (override === undefined) return base;
  if (path === 'lanes') return mergeLanes(base as LaneSettingsMap, override);
  const name = path === '' ? 'settings' : path;
  if (Array.isArray(base)) {
    if (!Array.isArray(override)) throw new TypeError(`${name} must be a list, got ${describe(override)}.`);
    for (const item of override) {
      if (typeof item !== typeof base[0] && base.length > 0) throw new TypeError(`${name} holds ${describe(item)}.`);
    }
    return [...override];
  }
  if (typeof base === 'object' && base !== null) {
    if (typeof override !== 'object' || override === null || Array.isArray(override)) {
      throw new TypeError(`${name} must be an object of settings, got ${describe(override)}.`);
    }
    const result: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [key, value] of Object.entries(override)) {
      if (!Object.hasOwn(base, key)) {
        const known = Object.keys(base).join(', ');
        throw new TypeError(`${path === '' ? key : `${path}.${key}`} is not a setting (${name} has: ${known}).`);
      }
      result[key] = merge((base as Record<string, unknown>)[key], value, path === '' ? key : `${path}.${key}`);
    }
    return result;
  }
  if (typeof override !== typeof base)
    throw new TypeError(`${name} must be a ${typeof base}, got ${describe(override)}.`);
  if (typeof override === 'number' && !Number.isFinite(override))
    throw new TypeError(`${name} must be a finite number.`);
  return override;
}

/**
 * Lanes are named by the deployment: a lane of `override` is added, or merged field by field into the
 * lane of the same name. Field names and kinds are checked as for any setting.
 */
function mergeLanes(base: LaneSettingsMap, override: unknown): LaneSettingsMap {
  if (typeof override !== 'object' || override === null || Array.isArray(override)) {
    throw new TypeError(`lanes must be an object of lanes by name, got ${describe(override)}.`);
  }
  const result: Record<string, object> = { ...base };
  for (const [name, lane] of Object.entries(override)) {
    if (lane === undefined) continue;
    if (typeof lane !== 'object' || lane === null || Array.isArray(lane)) {
      throw new TypeError(`lanes.${name} must be an object of lane settings, got ${describe(lane)}.`);
    }
    for (const [field, value] of Object.entries(lane)) {
      if (!LANE_FIELDS.has(field)) {
        throw new TypeError(
          `lanes.${name}.${field} is not a lane setting (a lane has: ${[...LANE_FIELDS].join(', ')}).`,
        );
      }
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
        throw new TypeError(`lanes.${name}.${field} must be a finite number, got ${describe(value)}.`);
      }
    }
    result[name] = { ...(Object.hasOwn(base, name) ? base[name] : {}), ...lane };
  }
  return result;
}

/**
 * `s` with a task module's `lanes` export under its own lanes: the module declares its lanes, and the
 * settings (the local stack's, a construct's props) tune them field by field.
 */
export function withModuleLanes(s: Settings, moduleLanes: LaneSettingsMap | undefined): Settings {
  if (moduleLanes === undefined) return s;
  // Only what `s` changed from the defaults tunes the module's lanes: a default (the default lane's
  // high-priority share) must not mask the module's own value, as it does not in the construct.
  const defaults = settings.lanes as Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  const own = Object.fromEntries(
    Object.entries(s.lanes as Readonly<Record<string, Readonly<Record<string, unknown>>>>).map(([name, lane]) => [
      name,
      Object.fromEntries(Object.entries(lane).filter(([field, value]) => defaults[name]?.[field] !== value)),
    ]),
  ) as LaneSettingsMap;
  return withOverrides(withOverrides({ ...s, lanes: settings.lanes }, { lanes: moduleLanes }), { lanes: own });
}

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'a list' : `${typeof value} ${JSON.stringify(value)}`;

/**
 * SQS guidance: the visibility timeout must cover the worker timeout six times over plus the
 * batching window, so a message is not redelivered while an invocation may still be running it.
 */
export function visibilityTimeoutSeconds(worker: Settings['worker'] = settings.worker): number {
  return 6 * worker.timeoutSeconds + worker.maxBatchingWindowSeconds;
}

/**
 * How long a message whose invocations keep crashing takes to reach the dead-letter queue: maxReceiveCount
 * visibility timeouts, plus the lease grace. The sweep's stale time must exceed it.
 */
export const deadLetterHorizonSeconds = (s: Settings, visibility = visibilityTimeoutSeconds(s.worker)): number =>
  s.queue.maxReceiveCount * visibility + s.tasks.leaseGraceSeconds;

/** The delivery queue's visibility timeout: six times the delivery function's timeout, as for the task queue. */
export const callbackVisibilityTimeoutSeconds = (callbacks: Settings['callbacks'] = settings.callbacks): number =>
  6 * callbacks.timeoutSeconds;

/**
 * The task data bucket's lifecycle, derived from the task TTL: an object expires `ttlDays` after it was
 * written (S3 counts from the next midnight UTC), as a task's item does after it is created or finished,
 * and an upload left incomplete is removed after a day.
 */
export function taskDataLifecycle(s: Settings = settings) {
  return { expirationDays: s.tasks.ttlDays, abortIncompleteUploadDays: 1 } as const;
}

/** Lambda keeps this much of an account's concurrency for the functions without a reservation. */
export const LAMBDA_UNRESERVED_MINIMUM = 100;

/**
 * Reserved concurrency of each offload function, derived from settings: a lane's worker's and the
 * dead-letter handler's equal the sum of their event source mappings' maxima (fewer would throttle a
 * mapping: the worker has its lane's normal and high-priority queues, the dead-letter handler one
 * queue per lane), and the recovery sweep gets one, so two sweeps never overlap. `worker` is the
 * default lane's; each other lane adds a `lane:<name>` entry.
 */
export function reservedConcurrency(s: Settings = settings): {
  readonly api: number;
  readonly worker: number;
  readonly deadLetter: number;
  readonly recovery: number;
  readonly callbacks: number;
  readonly scheduleFire: number;
} & Readonly<Record<string, number>> {
  const [defaultLane, ...others] = lanesOf(s);
  return {
    api: s.api.reservedConcurrency,
    worker: defaultLane?.reservedConcurrency ?? s.worker.maxConcurrency,
    ...Object.fromEntries(others.map((lane) => [`lane:${lane.name}`, lane.reservedConcurrency])),
    deadLetter: s.dlq.maxConcurrency * (1 + others.length),
    recovery: 1,
    callbacks: s.callbacks.maxConcurrency,
    scheduleFire: s.schedules.fire.reservedConcurrency,
  };
}

/**
 * Throws, at synth, when the reservations cannot be deployed: together they must leave the
 * {@link LAMBDA_UNRESERVED_MINIMUM} of the account's concurrency that Lambda keeps unreserved.
 */
export function checkReservedConcurrency(
  s: Settings = settings,
  accountConcurrency: number = s.lambda.accountConcurrency,
): void {
  const reserved = reservedConcurrency(s);
  const total = Object.values(reserved).reduce((sum, n) => sum + n, 0);
  const available = accountConcurrency - LAMBDA_UNRESERVED_MINIMUM;
  if (total > available) {
    const parts = Object.entries(reserved).map(([name, n]) => `${name} ${n}`);
    throw new Error(
      `The offload functions reserve ${total} concurrent executions (${parts.join(' + ')}), but an account with a ` +
        `concurrency quota of ${accountConcurrency} can reserve only ${Math.max(0, available)} (Lambda keeps ` +
        `${LAMBDA_UNRESERVED_MINIMUM} unreserved). Lower settings.api.reservedConcurrency, worker.maxConcurrency, ` +
        "a lane's maxConcurrency or highPriorityConcurrency, or dlq.maxConcurrency, or raise the quota (Service " +
        'Quotas) and pass -c accountConcurrency=N.',
    );
  }
}
