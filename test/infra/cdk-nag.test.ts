import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { buildOffloadStack, removeSynthOutput, type SynthOptions } from './synth-offload-stack.js';

afterAll(removeSynthOutput);

/** Builds the stack with the checks wired as in infra/app.ts and synthesizes it. */
function synthWithChecks(options: SynthOptions = {}): { app: App; report: { pluginReports: unknown[] } } {
  const { app, outdir } = buildOffloadStack(options);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // cdk-nag 3 is a policy-validation plugin: a finding makes synth throw with the report in the message.
  app.synth();
  return { app, report: JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) };
}

describe.each([
  ['Cognito', {}],
  ['JWT', { jwtIssuer: 'https://login.example.com/', jwtAudience: 'offload-api' }],
  ['IAM', { auth: 'iam' }],
  ['Cognito and a customer-managed key', { customerManagedKey: 'true' }],
  [
    'Cognito with the OAuth code grant',
    { cognitoCallbackUrls: 'https://app.example.org/callback', cognitoDomainPrefix: 'offload-example' },
  ],
])('AwsSolutions checks with %s auth', (_mode, context) => {
  it('report no unacknowledged finding', () => {
    const { report } = synthWithChecks({ context });
    expect(report.pluginReports).toEqual([]);
  });
});

/** The deployment's schedule group, as synthesized (a name generated from its path). */
function scheduleGroupName(app: App): string {
  const group = app.node.findAll().find((construct) => construct instanceof ScheduleGroup) as ScheduleGroup;
  return Stack.of(group).resolve(group.scheduleGroupName) as string;
}

describe('the checks', () => {
  it('fail the synth on a finding nobody acknowledged', () => {
    const withPlainQueue: SynthOptions = {
      extend: (_app, stack) => {
        new Queue(stack, 'PlainQueue');
      },
    };
    expect(() => synthWithChecks(withPlainQueue)).toThrow(/AwsSolutions-SQS4/);
  });

  it('are acknowledged only where a reason is written down', () => {
    const { app } = synthWithChecks();
    const acknowledgements = app.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, string>).map(([rule, reason]) => ({
            path: construct.node.path,
            rule: rule.replace(/^annotation::/i, ''),
            reason,
          })),
        ),
    );

    // Active tracing: the X-Ray write actions take no resource (infra/constructs/offload-function.ts).
    const tracedRoles = app.node
      .findAll()
      .filter((construct) => construct instanceof LambdaFunction)
      .map((fn) => `AwsSolutions-IAM5[Resource::*] ${fn.role?.node.path}`);
    expect(tracedRoles.length).toBeGreaterThanOrEqual(3);
    expect(acknowledgements.map(({ path, rule }) => `${rule} ${path}`).sort()).toEqual(
      [
        // No authorizer on the public routes (shared/api-routes.ts PUBLIC_ROUTES).
        'AwsSolutions-APIG4 Offload/Default/TaskApi/HttpApi/GET--health',
        'AwsSolutions-APIG4 Offload/Default/TaskApi/HttpApi/GET--openapi.json',
        // Rotating the deployment key is an operator decision (infra/constructs/deployment-key.ts).
        'AwsSolutions-SMG4 Offload/Default/DeploymentKey/Secret',
        'AwsSolutions-COG8 Offload/Default/ApiAuth/UserPool',
        // The API manages every schedule of the deployment's group, named at run time (task-scheduler.ts).
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${scheduleGroupName(app)}/*] Offload/Default/TaskApi/Role`,
        // The firings' dead-letter queue is a dead-letter queue itself.
        'AwsSolutions-SQS3 Offload/Default/TaskScheduler/DeadLetterQueue',
        // Task data objects are keyed per owner and task at run time; no server access logs (task-data-bucket.ts).
        ...['TaskApi', 'TaskWorker', 'Lane-long/TaskWorker', 'Callbacks'].map(
          (owner) => `AwsSolutions-IAM5[Resource::<${taskDataBucketId(app)}.Arn>/*] Offload/Default/${owner}/Role`,
        ),
        'AwsSolutions-S1 Offload/Default/TaskData/Bucket',
        ...tracedRoles,
      ].sort(),
    );
    for (const { reason } of acknowledgements) expect(reason.length).toBeGreaterThan(40);
  });
});

/** The logical id CloudFormation gives the task data bucket, as cdk-nag names it in a finding. */
function taskDataBucketId(app: App): string {
  const bucket = app.node
    .findAll()
    .find((construct) => construct.node.path === 'Offload/Default/TaskData/Bucket/Resource');
  if (!bucket) throw new Error('no task data bucket');
  return Stack.of(bucket).getLogicalId(bucket as CfnElement);
}
