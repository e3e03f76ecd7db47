import { ENV } from './env-names.js';
import { ConfigError } from './errors.js';
import * as z from './zod.js';

/** Digits only: an empty or blank variable is an error, not 0. */
const count = z.pipe(z.string().check(z.trim(), z.regex(/^\d+$/, 'expected a whole number')), z.transform(Number));

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
  [ENV.diagnosticTasks]: z._default(z.enum(['true', 'false']), 'false'),
  [ENV.dynamodbEndpoint]: z.optional(z.url({ protocol: /^https?$/ })),
  [ENV.sqsEndpoint]: z.optional(z.url({ protocol: /^https?$/ })),
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
  /** Registers the diagnostic task types (fail, flaky, crash). Off in production. */
  readonly diagnosticTasks: boolean;
  /** Emulator endpoints for the local stack; undefined in AWS. */
  readonly endpoints: { readonly dynamodb?: string; readonly sqs?: string };
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
    diagnosticTasks: e[ENV.diagnosticTasks] === 'true',
    endpoints: { dynamodb: e[ENV.dynamodbEndpoint], sqs: e[ENV.sqsEndpoint] },
  };
}
