import { ENV } from './env-names.js';
import { ConfigError } from './errors.js';
import { parseRoleArn, type RoleRef } from './iam-arn.js';
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
  [ENV.iamPerSessionRoles]: roleArnList,
  [ENV.fairQueues]: z._default(z.enum(['true', 'false']), 'true'),
  [ENV.fairShareTableName]: z.optional(z.string().check(z.minLength(1))),
  [ENV.ownerMaxRunning]: z.optional(positive),
  [ENV.ownerWaitMaxSeconds]: z._default(positive, 60),
  [ENV.submitRateMaxTasks]: z.optional(positive),
  [ENV.submitRateWindowSeconds]: z.optional(positive),
  [ENV.deploymentKeySecretArn]: z.optional(z.string().check(z.startsWith('arn:'))),
  [ENV.deploymentKeyFile]: z.optional(z.string().check(z.minLength(1))),
  [ENV.dynamodbEndpoint]: z.optional(z.url({ protocol: /^https?$/ })),
  [ENV.sqsEndpoint]: z.optional(z.url({ protocol: /^https?$/ })),
});

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
  endpoints: { dynamodb: e[ENV.dynamodbEndpoint], sqs: e[ENV.sqsEndpoint] },
});

export type Config = Readonly<ReturnType<typeof toConfig>>;

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
