import { ENV } from './env-names.js';
import { ConfigError } from './errors.js';
import { parseRoleArn, type RoleRef } from './iam-arn.js';
import type { TaskDataLimits } from './task-data.js';
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
  [ENV.dynamodbEndpoint]: z.optional(z.url({ protocol: /^https?$/ })),
  [ENV.sqsEndpoint]: z.optional(z.url({ protocol: /^https?$/ })),
  [ENV.taskDataBucket]: z.optional(z.string().check(z.minLength(3))),
  [ENV.taskDataInlineMaxBytes]: z.optional(count),
  [ENV.taskDataMaxObjectBytes]: z.optional(z.pipe(count, z.number().check(z.minimum(1)))),
  [ENV.taskDataUploadUrlSeconds]: z.optional(z.pipe(count, z.number().check(z.minimum(1), z.maximum(604_800)))),
  [ENV.taskDataDownloadUrlSeconds]: z.optional(z.pipe(count, z.number().check(z.minimum(1), z.maximum(604_800)))),
  [ENV.taskDataMaxArtifacts]: z.optional(count),
  [ENV.s3Endpoint]: z.optional(z.url({ protocol: /^https?$/ })),
});

/** The limits that must come with a task data bucket. */
const TASK_DATA_LIMITS = {
  inlineMaxBytes: ENV.taskDataInlineMaxBytes,
  maxObjectBytes: ENV.taskDataMaxObjectBytes,
  uploadUrlSeconds: ENV.taskDataUploadUrlSeconds,
  downloadUrlSeconds: ENV.taskDataDownloadUrlSeconds,
  maxArtifacts: ENV.taskDataMaxArtifacts,
} as const;

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
  /** Emulator endpoints for the local stack; undefined in AWS. */
  readonly endpoints: { readonly dynamodb?: string; readonly sqs?: string; readonly s3?: string };
  /** The task data bucket and its limits; undefined when none is configured (all data stays in the items). */
  readonly taskData?: { readonly bucket: string } & TaskDataLimits;
}

/** The one reader of `process.env`. Throws ConfigError naming every missing or bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const bucket = e[ENV.taskDataBucket];
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
    endpoints: { dynamodb: e[ENV.dynamodbEndpoint], sqs: e[ENV.sqsEndpoint], s3: e[ENV.s3Endpoint] },
    ...(bucket && { taskData: taskDataConfig(bucket, e) }),
  };
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
