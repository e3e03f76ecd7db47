import { ENV } from './env-names.js';
import { ConfigError } from './errors.js';
import { parseRoleArn, type RoleRef } from './iam-arn.js';
import { DEFAULT_LANE, LANE_NAME, type LaneTable } from './lanes.js';
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

const queueUrl = z.url({ protocol: /^https?$/ });

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
        queues: z.object({ normal: queueUrl, high: queueUrl }),
        staleAfterSeconds: z.int().check(z.minimum(0)),
      }),
    ),
  ),
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
  [ENV.lanes]: laneTable,
  [ENV.diagnosticTasks]: z._default(z.enum(['true', 'false']), 'false'),
  [ENV.iamPerSessionRoles]: roleArnList,
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
  /**
   * Every lane's queues and sweep stale time, by lane name; without OFFLOAD_LANES, the default lane
   * alone, both priorities on the one queue.
   */
  lanes: withDefaultLane(e[ENV.lanes], e[ENV.queueUrl], e[ENV.staleAfterSeconds]),
  /** Registers the diagnostic task types (`diagnosticTaskTypes` in functions/tasks/registry.ts). Off in production. */
  diagnosticTasks: e[ENV.diagnosticTasks] === 'true',
  /** Roles whose sessions each own their tasks (settings.auth.iamPerSessionRoles); empty by default. */
  iamPerSessionRoles: e[ENV.iamPerSessionRoles] as readonly RoleRef[],
  /** Where the deployment key is: a Secrets Manager secret in AWS, a file locally; neither when not configured. */
  deploymentKey: {
    ...(e[ENV.deploymentKeySecretArn] && { secretArn: e[ENV.deploymentKeySecretArn] }),
    ...(e[ENV.deploymentKeyFile] && { file: e[ENV.deploymentKeyFile] }),
  } as { readonly secretArn?: string; readonly file?: string },
  /** Emulator endpoints for the local stack; undefined in AWS. */
  endpoints: { dynamodb: e[ENV.dynamodbEndpoint], sqs: e[ENV.sqsEndpoint] },
});

export type Config = Readonly<ReturnType<typeof toConfig>>;

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
  return toConfig(parsed.data);
}
