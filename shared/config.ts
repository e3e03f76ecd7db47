import { ENV } from './env-names.js';
import { ConfigError } from './errors.js';
import { parseRoleArn, type RoleRef } from './iam-arn.js';
import * as z from './zod.js';

/** Digits only: an empty or blank variable is an error, not 0. */
const count = z.pipe(z.string().check(z.trim(), z.regex(/^\d+$/, 'expected a whole number')), z.transform(Number));

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

const ConfigSchema = z.object({
  [ENV.tableName]: z.string().check(z.minLength(1)),
  [ENV.queueUrl]: z.url({ protocol: /^https?$/ }),
  [ENV.maxBodyBytes]: count,
  [ENV.retryAfterSeconds]: count,
  [ENV.defaultMaxAttempts]: z.pipe(count, z.number().check(z.minimum(1))),
  [ENV.retryBaseDelaySeconds]: count,
  [ENV.retryMaxDelaySeconds]: z.pipe(count, z.number().check(z.maximum(43_200))),
  [ENV.ttlDays]: z.pipe(count, z.number().check(z.minimum(1))),
  [ENV.maxResultBytes]: count,
  [ENV.cancelCheckSeconds]: z.pipe(count, z.number().check(z.minimum(1))),
  [ENV.staleAfterSeconds]: count,
  [ENV.leaseGraceSeconds]: count,
  [ENV.diagnosticTasks]: z._default(z.enum(['true', 'false']), 'false'),
  [ENV.demoTasks]: z._default(z.enum(['true', 'false']), 'false'),
  [ENV.iamPerSessionRoles]: roleArnList,
  [ENV.deploymentKeySecretArn]: z.optional(z.string().check(z.startsWith('arn:'))),
  [ENV.deploymentKeyFile]: z.optional(z.string().check(z.minLength(1))),
  [ENV.scheduleTableName]: z.optional(z.string().check(z.minLength(1))),
  [ENV.maxSchedulesPerOwner]: z.pipe(count, z.number().check(z.minimum(1))),
  [ENV.maxRunAtDays]: z.pipe(count, z.number().check(z.minimum(1))),
  [ENV.runAtQueueDelayMaxSeconds]: z.pipe(count, z.number().check(z.minimum(1), z.maximum(900))),
  [ENV.scheduleGroupName]: z.optional(z.string().check(z.minLength(1))),
  [ENV.scheduleTargetArn]: z.optional(z.string().check(z.startsWith('arn:'))),
  [ENV.scheduleRoleArn]: z.optional(z.string().check(z.startsWith('arn:'))),
  [ENV.scheduleDeadLetterQueueArn]: z.optional(z.string().check(z.startsWith('arn:'))),
  [ENV.scheduleRetryAttempts]: z.optional(count),
  [ENV.scheduleMaxEventAgeSeconds]: z.optional(count),
  [ENV.dynamodbEndpoint]: z.optional(z.url({ protocol: /^https?$/ })),
  [ENV.sqsEndpoint]: z.optional(z.url({ protocol: /^https?$/ })),
  [ENV.schedulerEndpoint]: z.optional(z.url({ protocol: /^https?$/ })),
});

export interface Config {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly maxBodyBytes: number;
  readonly retryAfterSeconds: number;
  readonly defaultMaxAttempts: number;
  readonly retryBaseDelaySeconds: number;
  readonly retryMaxDelaySeconds: number;
  readonly ttlDays: number;
  readonly maxResultBytes: number;
  readonly cancelCheckSeconds: number;
  /** Age after which the recovery sweep presumes a task's message lost. */
  readonly staleAfterSeconds: number;
  /** Added to an invocation's end to make its lease (settings.tasks.leaseGraceSeconds). */
  readonly leaseGraceSeconds: number;
  /** Registers the diagnostic task types (fail, flaky, crash). Off in production. */
  readonly diagnosticTasks: boolean;
  /** Registers the demonstration task types (echo, sleep). Off unless asked for. */
  readonly demoTasks: boolean;
  /** Roles whose sessions each own their tasks (settings.auth.iamPerSessionRoles); empty by default. */
  readonly iamPerSessionRoles: readonly RoleRef[];
  /** Where the deployment key is: a Secrets Manager secret in AWS, a file locally; neither when not configured. */
  readonly deploymentKey: { readonly secretArn?: string; readonly file?: string };
  readonly schedules: ScheduleConfig;
  /** Emulator endpoints for the local stack; undefined in AWS. */
  readonly endpoints: { readonly dynamodb?: string; readonly sqs?: string; readonly scheduler?: string };
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

/** The one reader of `process.env`. Throws ConfigError naming every missing or bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
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
    staleAfterSeconds: e[ENV.staleAfterSeconds],
    leaseGraceSeconds: e[ENV.leaseGraceSeconds],
    diagnosticTasks: e[ENV.diagnosticTasks] === 'true',
    demoTasks: e[ENV.demoTasks] === 'true',
    iamPerSessionRoles: e[ENV.iamPerSessionRoles],
    deploymentKey: {
      ...(e[ENV.deploymentKeySecretArn] && { secretArn: e[ENV.deploymentKeySecretArn] }),
      ...(e[ENV.deploymentKeyFile] && { file: e[ENV.deploymentKeyFile] }),
    },
    schedules: {
      ...(e[ENV.scheduleTableName] && { tableName: e[ENV.scheduleTableName] }),
      maxPerOwner: e[ENV.maxSchedulesPerOwner],
      maxRunAtDays: e[ENV.maxRunAtDays],
      runAtQueueDelayMaxSeconds: e[ENV.runAtQueueDelayMaxSeconds],
      ...schedulerTarget(e),
    },
    endpoints: { dynamodb: e[ENV.dynamodbEndpoint], sqs: e[ENV.sqsEndpoint], scheduler: e[ENV.schedulerEndpoint] },
  };
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
