import { ENV } from './env-names.js';
import { ConfigError } from './errors.js';
import { parseRoleArn, type RoleRef } from './iam-arn.js';
import { DEFAULT_LANE, LANE_NAME, type LaneTable } from './lanes.js';
import type { TaskDataLimits } from './task-data.js';
import { MAX_VISIBILITY_WAIT_SECONDS } from './time.js';
import * as z from './zod.js';

/** Digits only: an empty or blank variable is an error, not 0. */
const count = z.pipe(z.string().check(z.trim(), z.regex(/^\d+$/, 'expected a whole number')), z.transform(Number));

/** A whole number of at least 1: a limit of 0 would refuse everything, and is a typo more often than a wish. */
const positive = z.pipe(count, z.number().check(z.minimum(1)));

/** Comma-separated role ARNs; each must parse, so a typo fails the cold start instead of silently merging owners. */
const roleArnList = z.pipe(
  z.optional(z.string()),
  z.transform((value: string | undefined, ctx) => {
    const roles: RoleRef[] = [];
    for (const arn of (value ?? '').split(',').map((item) => item.trim())) {
      if (arn === '') continue;
      const role = parseRoleArn(arn);
      if (role) roles.push(role);
      else ctx.issues.push({ code: 'custom', message: `not an IAM role ARN: "${arn}"`, input: value });
    }
    return roles;
  }),
);

/** Comma-separated positive whole numbers, at least one, none twice: the callback signing key versions. */
const versionList = z.pipe(
  z.string().check(z.regex(/^\s*\d+\s*(,\s*\d+\s*)*$/, 'expected versions such as "2,1"')),
  z.transform((value: string, ctx) => {
    const versions = value.split(',').map((item) => Number(item.trim()));
    if (versions.some((version) => version < 1) || new Set(versions).size !== versions.length) {
      ctx.issues.push({ code: 'custom', message: 'versions must be distinct and at least 1', input: value });
    }
    return versions;
  }),
);

/** Queue URLs and service endpoints: http(s) only. */
const httpUrl = z.url({ protocol: /^https?$/ });

/** OFFLOAD_LANES: JSON of every lane's queues and stale time; a lane name as LANE_NAME allows. */
const laneTable = z.optional(
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((value: string, ctx) => {
        try {
          return JSON.parse(value) as unknown;
        } catch {
          ctx.issues.push({ code: 'custom', message: 'not JSON', input: value });
          return z.NEVER;
        }
      }),
    ),
    z.record(
      z.string().check(z.regex(LANE_NAME)),
      z.object({
        queues: z.object({ normal: httpUrl, high: httpUrl }),
        staleAfterSeconds: z.int().check(z.minimum(0)),
      }),
    ),
  ),
);

const ConfigSchema = z.object({
  [ENV.tableName]: z.string().check(z.minLength(1)),
  [ENV.queueUrl]: httpUrl,
  [ENV.maxBodyBytes]: count,
  [ENV.retryAfterSeconds]: count,
  [ENV.defaultMaxAttempts]: positive,
  [ENV.retryBaseDelaySeconds]: count,
  [ENV.retryMaxDelaySeconds]: z.pipe(count, z.number().check(z.maximum(MAX_VISIBILITY_WAIT_SECONDS))),
  [ENV.ttlDays]: positive,
  [ENV.maxResultBytes]: count,
  [ENV.cancelCheckSeconds]: positive,
  [ENV.staleAfterSeconds]: count,
  [ENV.leaseGraceSeconds]: count,
  [ENV.lanes]: laneTable,
  [ENV.diagnosticTasks]: z._default(z.enum(['true', 'false']), 'false'),
  [ENV.iamPerSessionRoles]: roleArnList,
  [ENV.callbackQueueUrl]: z.optional(httpUrl),
  [ENV.callbackRequestTimeoutSeconds]: positive,
  [ENV.callbackMaxResponseBytes]: count,
  [ENV.callbackRetryBaseDelaySeconds]: positive,
  [ENV.callbackRetryMaxDelaySeconds]: z.pipe(count, z.number().check(z.maximum(MAX_VISIBILITY_WAIT_SECONDS))),
  [ENV.callbackDeliveryWindowSeconds]: count,
  [ENV.callbackSigningKeyVersions]: versionList,
  [ENV.allowLocalCallbacks]: z._default(z.enum(['true', 'false']), 'false'),
  [ENV.fairQueues]: z._default(z.enum(['true', 'false']), 'true'),
  [ENV.fairShareTableName]: z.optional(z.string().check(z.minLength(1))),
  [ENV.ownerMaxRunning]: z.optional(positive),
  [ENV.ownerWaitMaxSeconds]: z._default(positive, 60),
  [ENV.submitRateMaxTasks]: z.optional(positive),
  [ENV.submitRateWindowSeconds]: z.optional(positive),
  [ENV.deploymentKeySecretArn]: z.optional(z.string().check(z.startsWith('arn:'))),
  [ENV.deploymentKeyFile]: z.optional(z.string().check(z.minLength(1))),
  [ENV.scheduleTableName]: z.optional(z.string().check(z.minLength(1))),
  [ENV.maxSchedulesPerOwner]: positive,
  [ENV.maxRunAtDays]: positive,
  [ENV.runAtQueueDelayMaxSeconds]: z.pipe(count, z.number().check(z.minimum(1), z.maximum(900))),
  [ENV.scheduleGroupName]: z.optional(z.string().check(z.minLength(1))),
  [ENV.scheduleTargetArn]: z.optional(z.string().check(z.startsWith('arn:'))),
  [ENV.scheduleRoleArn]: z.optional(z.string().check(z.startsWith('arn:'))),
  [ENV.scheduleDeadLetterQueueArn]: z.optional(z.string().check(z.startsWith('arn:'))),
  [ENV.scheduleRetryAttempts]: z.optional(count),
  [ENV.scheduleMaxEventAgeSeconds]: z.optional(count),
  [ENV.dynamodbEndpoint]: z.optional(httpUrl),
  [ENV.sqsEndpoint]: z.optional(httpUrl),
  [ENV.schedulerEndpoint]: z.optional(httpUrl),
  [ENV.taskDataBucket]: z.optional(z.string().check(z.minLength(3))),
  [ENV.taskDataInlineMaxBytes]: z.optional(count),
  [ENV.taskDataMaxObjectBytes]: z.optional(positive),
  [ENV.taskDataUploadUrlSeconds]: z.optional(z.pipe(count, z.number().check(z.minimum(1), z.maximum(604_800)))),
  [ENV.taskDataDownloadUrlSeconds]: z.optional(z.pipe(count, z.number().check(z.minimum(1), z.maximum(604_800)))),
  [ENV.taskDataMaxArtifacts]: z.optional(count),
  [ENV.s3Endpoint]: z.optional(httpUrl),
});

/** The limits that must come with a task data bucket. */
const TASK_DATA_LIMITS = {
  inlineMaxBytes: ENV.taskDataInlineMaxBytes,
  maxObjectBytes: ENV.taskDataMaxObjectBytes,
  uploadUrlSeconds: ENV.taskDataUploadUrlSeconds,
  downloadUrlSeconds: ENV.taskDataDownloadUrlSeconds,
  maxArtifacts: ENV.taskDataMaxArtifacts,
} as const;

/**
 * The configuration as the functions use it, from the parsed environment: the one place where a
 * variable's name meets its field, so the type below follows the schema and cannot drift from it.
 */
const toConfig = (e: z.output<typeof ConfigSchema>) => ({
  tableName: e[ENV.tableName],
  queueUrl: e[ENV.queueUrl],
  maxBodyBytes: e[ENV.maxBodyBytes],
  retryAfterSeconds: e[ENV.retryAfterSeconds],
  defaultMaxAttempts: e[ENV.defaultMaxAttempts],
  retryBaseDelaySeconds: e[ENV.retryBaseDelaySeconds],
  retryMaxDelaySeconds: e[ENV.retryMaxDelaySeconds],
  ttlDays: e[ENV.ttlDays],
  maxResultBytes: e[ENV.maxResultBytes],
  cancelCheckSeconds: e[ENV.cancelCheckSeconds],
  /** Age after which the recovery sweep presumes a task's message lost. */
  staleAfterSeconds: e[ENV.staleAfterSeconds],
  /** Added to an invocation's end to make its lease (settings.tasks.leaseGraceSeconds). */
  leaseGraceSeconds: e[ENV.leaseGraceSeconds],
  /**
   * Every lane's queues and sweep stale time, by lane name; without OFFLOAD_LANES, the default lane
   * alone, both priorities on the one queue.
   */
  lanes: withDefaultLane(e[ENV.lanes], e[ENV.queueUrl], e[ENV.staleAfterSeconds]),
  /** Registers the diagnostic task types (`diagnosticTaskTypes` in functions/tasks/registry.ts). Off in production. */
  diagnosticTasks: e[ENV.diagnosticTasks] === 'true',
  /** Roles whose sessions each own their tasks (settings.auth.iamPerSessionRoles); empty by default. */
  iamPerSessionRoles: e[ENV.iamPerSessionRoles] as readonly RoleRef[],
  /** Fair share under load (settings.fairness): fair queues, and the limits that are on, with their table. */
  fairness: {
    fairQueues: e[ENV.fairQueues] === 'true',
    tableName: e[ENV.fairShareTableName],
    ownerMaxRunning: e[ENV.ownerMaxRunning],
    ownerWaitMaxSeconds: e[ENV.ownerWaitMaxSeconds],
    submitRate:
      e[ENV.submitRateMaxTasks] === undefined
        ? undefined
        : { maxTasks: e[ENV.submitRateMaxTasks], windowSeconds: e[ENV.submitRateWindowSeconds] ?? 60 },
  } as {
    readonly fairQueues: boolean;
    readonly tableName?: string;
    readonly ownerMaxRunning?: number;
    readonly ownerWaitMaxSeconds: number;
    readonly submitRate?: { readonly maxTasks: number; readonly windowSeconds: number };
  },
  /** Where the deployment key is: a Secrets Manager secret in AWS, a file locally; neither when not configured. */
  deploymentKey: {
    ...(e[ENV.deploymentKeySecretArn] && { secretArn: e[ENV.deploymentKeySecretArn] }),
    ...(e[ENV.deploymentKeyFile] && { file: e[ENV.deploymentKeyFile] }),
  } as { readonly secretArn?: string; readonly file?: string },
  /** Emulator endpoints for the local stack; undefined in AWS. */
  endpoints: {
    dynamodb: e[ENV.dynamodbEndpoint],
    sqs: e[ENV.sqsEndpoint],
    scheduler: e[ENV.schedulerEndpoint],
    s3: e[ENV.s3Endpoint],
  },
  /** The task data bucket and its limits; undefined when none is configured (all data stays in the items). */
  ...taskDataOf(e[ENV.taskDataBucket], e),
  /** Schedules and far-off `runAt` (settings.schedules). */
  schedules: {
    ...(e[ENV.scheduleTableName] && { tableName: e[ENV.scheduleTableName] }),
    maxPerOwner: e[ENV.maxSchedulesPerOwner],
    maxRunAtDays: e[ENV.maxRunAtDays],
    runAtQueueDelayMaxSeconds: e[ENV.runAtQueueDelayMaxSeconds],
    ...schedulerTarget(e),
  } as ScheduleConfig,
  /** Completion callbacks (settings.callbacks). */
  callbacks: {
    ...(e[ENV.callbackQueueUrl] && { queueUrl: e[ENV.callbackQueueUrl] }),
    requestTimeoutMs: e[ENV.callbackRequestTimeoutSeconds] * 1000,
    maxResponseBytes: e[ENV.callbackMaxResponseBytes],
    retryBaseDelaySeconds: e[ENV.callbackRetryBaseDelaySeconds],
    retryMaxDelaySeconds: e[ENV.callbackRetryMaxDelaySeconds],
    deliveryWindowSeconds: e[ENV.callbackDeliveryWindowSeconds],
    signingKeyVersions: e[ENV.callbackSigningKeyVersions],
    allowLocal: e[ENV.allowLocalCallbacks] === 'true',
  } as CallbackConfig,
});

export type Config = Readonly<ReturnType<typeof toConfig>>;

export interface CallbackConfig {
  /** The delivery queue; undefined where callbacks are not wired, and `callbackUrl` is refused. */
  readonly queueUrl?: string;
  readonly requestTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly retryBaseDelaySeconds: number;
  readonly retryMaxDelaySeconds: number;
  readonly deliveryWindowSeconds: number;
  /** Signing key versions, the current first; during a rotation the previous one signs too. */
  readonly signingKeyVersions: readonly number[];
  /** http and loopback or private addresses allowed (local stack with --allow-local-callbacks only). */
  readonly allowLocal: boolean;
}

/** Where every schedule of the deployment lives and what it invokes (infra/constructs/task-scheduler.ts). */
export interface SchedulerTarget {
  /** The deployment's schedule group. */
  readonly groupName: string;
  /** ARN of the fire function. */
  readonly functionArn: string;
  /** The role Scheduler assumes to invoke it, and to send failed firings to the dead-letter queue. */
  readonly roleArn: string;
  readonly deadLetterQueueArn: string;
  /** Scheduler's retry policy for a firing it could not deliver. */
  readonly retryAttempts: number;
  readonly maxEventAgeSeconds: number;
}

/** Schedules and far-off `runAt` (settings.schedules). */
export interface ScheduleConfig {
  /** The schedule table; undefined for functions that never read it. */
  readonly tableName?: string;
  readonly maxPerOwner: number;
  readonly maxRunAtDays: number;
  /** A `runAt` up to this many seconds ahead uses the SQS delay; further ahead, a one-time schedule. */
  readonly runAtQueueDelayMaxSeconds: number;
  /** Where schedules go and what they invoke: the API's alone (undefined elsewhere). */
  readonly target?: SchedulerTarget;
}

function withDefaultLane(lanes: LaneTable | undefined, queueUrl: string, staleAfterSeconds: number): LaneTable {
  if (lanes?.[DEFAULT_LANE]) return lanes;
  return { ...lanes, [DEFAULT_LANE]: { queues: { normal: queueUrl, high: queueUrl }, staleAfterSeconds } };
}

/** The one reader of `process.env`. Throws ConfigError naming every missing or bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid environment: ${problems.join('; ')}`);
  }
  const config = toConfig(parsed.data);
  const { fairness } = config;
  if (!fairness.tableName && (fairness.ownerMaxRunning !== undefined || fairness.submitRate)) {
    throw new ConfigError(
      `Invalid environment: ${ENV.ownerMaxRunning} and ${ENV.submitRateMaxTasks} need ${ENV.fairShareTableName}, where their state lives.`,
    );
  }
  return config;
}

/** The Scheduler target, when every part of it is set (the API's environment). */
function schedulerTarget(e: z.output<typeof ConfigSchema>): { target?: SchedulerTarget } {
  const groupName = e[ENV.scheduleGroupName];
  const functionArn = e[ENV.scheduleTargetArn];
  const roleArn = e[ENV.scheduleRoleArn];
  const deadLetterQueueArn = e[ENV.scheduleDeadLetterQueueArn];
  const retryAttempts = e[ENV.scheduleRetryAttempts];
  const maxEventAgeSeconds = e[ENV.scheduleMaxEventAgeSeconds];
  if (!groupName || !functionArn || !roleArn || !deadLetterQueueArn) return {};
  if (retryAttempts === undefined || maxEventAgeSeconds === undefined) return {};
  return { target: { groupName, functionArn, roleArn, deadLetterQueueArn, retryAttempts, maxEventAgeSeconds } };
}

/** `{ taskData }` when a bucket is configured, else nothing. */
function taskDataOf(
  bucket: string | undefined,
  e: Readonly<Record<string, unknown>>,
): { readonly taskData?: { readonly bucket: string } & TaskDataLimits } {
  return bucket === undefined ? {} : { taskData: taskDataConfig(bucket, e) };
}

/** A bucket without its limits is a deployment fault: name every missing one. */
function taskDataConfig(
  bucket: string,
  e: Readonly<Record<string, unknown>>,
): { readonly bucket: string } & TaskDataLimits {
  const missing = Object.values(TASK_DATA_LIMITS).filter((name) => e[name] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(`Invalid environment: ${ENV.taskDataBucket} is set but not ${missing.join(', ')}`);
  }
  const limits = Object.fromEntries(
    Object.entries(TASK_DATA_LIMITS).map(([field, name]) => [field, e[name] as number]),
  ) as unknown as TaskDataLimits;
  return { bucket, ...limits };
}
