import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Function as LambdaFunction, LoggingFormat, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LAMBDA_ARCHITECTURE, LAMBDA_HANDLER, LAMBDA_RUNTIME, lambdaCode } from '../bundling.js';
import type { LambdaEntry } from '../lambda-entry.js';

export interface OffloadFunctionProps {
  /** Which offload function, and the task module it serves. */
  readonly entry: LambdaEntry;
  /** What the function is for, shown in the Lambda console. */
  readonly description: string;
  /** Lambda timeout in seconds. */
  readonly timeoutSeconds: number;
  /** Memory in MiB; Lambda allocates CPU in proportion. */
  readonly memoryMiB: number;
  /** Environment variables, normally `functionEnvironment(...)`. */
  readonly environment: Record<string, string>;
  /** Concurrent executions reserved for the function: both its share of the account and its ceiling. */
  readonly reservedConcurrency: number;
  /**
   * How long the function's log events are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Encrypts the function's log group.
   * @default CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: IKey;
}

/**
 * The one definition of how an offload Lambda is built and run, so the functions differ only in
 * entry, numbers and grants. Creates `LogGroup`, `Role` and `Function` inside `scope`, which is meant
 * to be the construct that owns the function.
 */
export function offloadFunction(scope: Construct, props: OffloadFunctionProps): LambdaFunction {
  const logGroup = new LogGroup(scope, 'LogGroup', {
    retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    encryptionKey: props.logEncryptionKey,
  });
  // An own role instead of AWSLambdaBasicExecutionRole: that managed policy may write to any log group.
  const role = new Role(scope, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'Active tracing grants xray:PutTraceSegments and xray:PutTelemetryRecords, which take no resource.',
  });

  return new LambdaFunction(scope, 'Function', {
    code: lambdaCode(props.entry),
    handler: LAMBDA_HANDLER,
    description: props.description,
    runtime: LAMBDA_RUNTIME,
    architecture: LAMBDA_ARCHITECTURE,
    timeout: Duration.seconds(props.timeoutSeconds),
    memorySize: props.memoryMiB,
    reservedConcurrentExecutions: props.reservedConcurrency,
    role,
    logGroup,
    loggingFormat: LoggingFormat.JSON,
    // X-Ray traces each invocation; Powertools Tracer adds the SDK calls as subsegments.
    tracing: Tracing.ACTIVE,
    environment: props.environment,
  });
}
