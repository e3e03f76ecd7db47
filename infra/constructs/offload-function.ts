import { Duration } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface OffloadFunctionProps {
  /** Absolute path of the TypeScript module that exports `handler`. */
  readonly entry: string;
  /** What the function is for, shown in the Lambda console. */
  readonly description: string;
  /** Lambda timeout in seconds. */
  readonly timeoutSeconds: number;
  /** Memory in MiB; Lambda allocates CPU in proportion. */
  readonly memoryMiB: number;
  /** Environment variables, normally `functionEnvironment(...)`. */
  readonly environment: Record<string, string>;
  /**
   * How long the function's log events are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The one definition of how an offload Lambda is built and run, so the three functions differ only in
 * entry, numbers and grants. Creates `LogGroup`, `Role` and `Function` inside `scope`, which is meant
 * to be the construct that owns the function.
 */
export function offloadFunction(scope: Construct, props: OffloadFunctionProps): NodejsFunction {
  const logGroup = new LogGroup(scope, 'LogGroup', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
  // An own role instead of AWSLambdaBasicExecutionRole: that managed policy may write to any log group.
  const role = new Role(scope, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);

  return new NodejsFunction(scope, 'Function', {
    entry: props.entry,
    handler: 'handler',
    description: props.description,
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    timeout: Duration.seconds(props.timeoutSeconds),
    memorySize: props.memoryMiB,
    role,
    logGroup,
    loggingFormat: LoggingFormat.JSON,
    environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
    bundling: {
      forceDockerBundling: false,
      format: OutputFormat.ESM,
      mainFields: ['module', 'main'],
      // Bundled CommonJS dependencies may still call require(), which ESM output does not define.
      banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      // Pin the SDK we test against instead of whatever version the runtime ships.
      bundleAwsSDK: true,
      minify: true,
      sourceMap: true,
      // Stack traces need only the mappings; the sources would double the asset for nothing.
      sourcesContent: false,
    },
  });
}
