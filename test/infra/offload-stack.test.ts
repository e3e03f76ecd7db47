import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { afterAll, describe, expect, it } from 'vitest';
import { lanes as demoLanes } from '../../functions/tasks/demo.js';
import { functionEnvironment, schedulerEnvironment } from '../../infra/function-environment.js';
import { lanesOf } from '../../infra/lanes.js';
import {
  checkReservedConcurrency,
  LAMBDA_UNRESERVED_MINIMUM,
  settings,
  visibilityTimeoutSeconds,
  withOverrides,
} from '../../infra/settings.js';
import { API_ROUTES, DEFAULT_ROUTE, PUBLIC_ROUTES } from '../../shared/api-routes.js';
import { ENV } from '../../shared/env-names.js';
import { TASK_TABLE } from '../../shared/task-table.js';
import { constructPathsByLogicalId, logicalIdOf, removeSynthOutput, synthOffloadStack } from './synth-offload-stack.js';

afterAll(removeSynthOutput);

const { stack, template } = synthOffloadStack();
const paths = constructPathsByLogicalId(stack);
/** The deployment's schedule group, a name CDK generates from its path. */
const scheduleGroupName = (() => {
  const group = stack.node.findAll().find((construct) => construct instanceof ScheduleGroup) as ScheduleGroup;
  return stack.resolve(group.scheduleGroupName) as string;
})();
const id = (path: string) => logicalIdOf(stack, path);

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
const resource = (path: string) => template.toJSON().Resources[id(path)] as Resource;
const property = <T>(path: string, name: string) => resource(path).Properties[name] as T;

/**
 * Task data: objects under any key (owner hashes and ids are made at run time), and listing, without
 * which a missing key answers 403 instead of 404.
 */
const TASK_DATA_GRANTS = [
  's3:DeleteObject TaskData/Bucket/*',
  's3:GetObject TaskData/Bucket/*',
  's3:PutObject TaskData/Bucket/*',
  's3:ListBucket TaskData/Bucket',
];

/** This app's lanes: the default one and the demonstration module's `long` lane. */
const [defaultLane, longLane] = lanesOf(withOverrides(settings, { lanes: demoLanes }));
if (!defaultLane || !longLane) throw new Error('the app has two lanes');

/** What active tracing adds to every function role: X-Ray's write actions take no resource. */
const TRACING_GRANTS = ['xray:PutTelemetryRecords *', 'xray:PutTraceSegments *'];

const FUNCTIONS = [
  {
    owner: 'TaskApi',
    timeoutSeconds: settings.api.timeoutSeconds,
    memoryMiB: settings.api.memoryMiB,
    reserved: settings.api.reservedConcurrency,
  },
  {
    owner: 'TaskWorker',
    timeoutSeconds: settings.worker.timeoutSeconds,
    memoryMiB: settings.worker.memoryMiB,
    // Its mapping's maximum, and the high-priority mapping's on top.
    reserved: settings.worker.maxConcurrency + defaultLane.highPriorityConcurrency,
  },
  {
    owner: 'Lane-long/TaskWorker',
    timeoutSeconds: longLane.timeoutSeconds,
    memoryMiB: longLane.memoryMiB,
    reserved: longLane.reservedConcurrency,
  },
  {
    owner: 'DeadLetterHandler',
    timeoutSeconds: settings.dlq.timeoutSeconds,
    memoryMiB: settings.dlq.memoryMiB,
    // One mapping per lane's dead-letter queue.
    reserved: 2 * settings.dlq.maxConcurrency,
  },
  {
    owner: 'RecoverySweep',
    timeoutSeconds: settings.recovery.timeoutSeconds,
    memoryMiB: settings.recovery.memoryMiB,
    reserved: 1,
  },
  {
    owner: 'Callbacks',
    timeoutSeconds: settings.callbacks.timeoutSeconds,
    memoryMiB: settings.callbacks.memoryMiB,
    reserved: settings.callbacks.maxConcurrency,
  },
  {
    owner: 'TaskScheduler',
    timeoutSeconds: settings.schedules.fire.timeoutSeconds,
    memoryMiB: settings.schedules.fire.memoryMiB,
    reserved: settings.schedules.fire.reservedConcurrency,
  },
];

/** A CloudFormation value as the construct path it points at, e.g. `TaskStore/Table/index/byOwner`. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return paths.get(object.Ref as string) ?? String(object.Ref);
  if ('Fn::GetAtt' in object) {
    const [logicalId] = object['Fn::GetAtt'] as [string, string];
    return paths.get(logicalId) ?? logicalId;
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(describeValue).join(separator);
  }
  return JSON.stringify(value);
}

/** Every `action resource` pair the function's role allows, sorted. */
const grantsOf = (owner: string): string[] => grantsOfRole(`${owner}/Role`);

/** Every `action resource` pair the role at `rolePath` allows, sorted. */
function grantsOfRole(rolePath: string): string[] {
  const roleId = id(rolePath);
  const grants: string[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = policy.Properties.Roles as { Ref: string }[];
    if (!roles.some((role) => role.Ref === roleId)) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      expect(statement.Effect).toBe('Allow');
      for (const action of [statement.Action].flat()) {
        for (const target of [statement.Resource].flat()) grants.push(`${action} ${describeValue(target)}`);
      }
    }
  }
  return grants.sort();
}

describe('HTTP API', () => {
  const routeKeys = [...Object.values(API_ROUTES), DEFAULT_ROUTE];

  it('has exactly the task routes the handler dispatches on, plus the catch-all', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual([...routeKeys].sort());
  });

  it.each(routeKeys)('sends %s to the API Lambda through a payload 2.0 proxy integration', (routeKey) => {
    const route = Object.values(
      template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } }),
    );
    expect(route).toHaveLength(1);
    const target = route[0]?.Properties.Target['Fn::Join'][1][1].Ref;
    expect(template.toJSON().Resources[target].Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [id('TaskApi/Function'), 'Arn'] },
    });
  });

  it('lets API Gateway invoke the handler through the catch-all route', () => {
    // The catch-all's source ARN is {api}/{stage}/$default: two segments, which `{api}/*/*/*` would not match.
    const sourceArns = Object.values(template.findResources('AWS::Lambda::Permission'))
      .filter((permission) => permission.Properties.Principal === 'apigateway.amazonaws.com')
      .map((permission) => describeValue(permission.Properties.SourceArn));
    expect(sourceArns).toContain('arn:AWS::Partition:execute-api:AWS::Region:AWS::AccountId:TaskApi/HttpApi/*/*');
  });

  const protectedRouteKeys = routeKeys.filter((key) => !(PUBLIC_ROUTES as ReadonlySet<string>).has(key));

  it.each(protectedRouteKeys)('puts the authorizer on %s', (routeKey) => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: routeKey,
      AuthorizationType: 'JWT',
      AuthorizerId: { Ref: Match.anyValue() },
    });
  });

  it('serves one explicit $default stage, with throttling from settings', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: settings.api.throttleRateLimit,
        ThrottlingBurstLimit: settings.api.throttleBurstLimit,
      },
    });
  });

  it('throttles the public routes, which anyone may call, far below the stage', () => {
    const limits = {
      ThrottlingRateLimit: settings.api.publicRouteRateLimit,
      ThrottlingBurstLimit: settings.api.publicRouteBurstLimit,
    };
    expect(property('TaskApi/DefaultStage', 'RouteSettings')).toEqual(
      Object.fromEntries([...PUBLIC_ROUTES].map((routeKey) => [routeKey, limits])),
    );
    expect(limits.ThrottlingRateLimit).toBeLessThan(settings.api.throttleRateLimit / 10);
    // The stage may name a route only once the route exists.
    const publicRouteIds = Object.entries(template.findResources('AWS::ApiGatewayV2::Route'))
      .filter(([, route]) => PUBLIC_ROUTES.has(route.Properties.RouteKey))
      .map(([logicalId]) => logicalId);
    expect(resource('TaskApi/DefaultStage').DependsOn).toEqual(expect.arrayContaining(publicRouteIds));
  });

  it('writes JSON access logs with the request id to a log group with a retention', () => {
    const accessLog = property<{ DestinationArn: unknown; Format: string }>(
      'TaskApi/DefaultStage',
      'AccessLogSettings',
    );
    expect(describeValue(accessLog.DestinationArn)).toBe('TaskApi/AccessLogs');
    expect(JSON.parse(accessLog.Format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    expect(property('TaskApi/AccessLogs', 'RetentionInDays')).toBeGreaterThan(0);
  });
});

describe('task queue', () => {
  it('keeps messages invisible for at least 6 x the worker timeout + the batching window', () => {
    const visibilityTimeout = property<number>('TaskQueue/Queue', 'VisibilityTimeout');
    const workerTimeout = property<number>('TaskWorker/Function', 'Timeout');
    const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).find(
      (m) => describeValue(m.Properties.FunctionName) === 'TaskWorker/Function',
    );
    const batchingWindow = mapping?.Properties.MaximumBatchingWindowInSeconds as number;

    expect(visibilityTimeout).toBeGreaterThanOrEqual(6 * workerTimeout + batchingWindow);
    expect(visibilityTimeout).toBe(visibilityTimeoutSeconds());
  });

  it('feeds the worker in batches with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: id('TaskWorker/Function') },
      EventSourceArn: { 'Fn::GetAtt': [id('TaskQueue/Queue'), 'Arn'] },
      BatchSize: settings.worker.batchSize,
      MaximumBatchingWindowInSeconds: settings.worker.maxBatchingWindowSeconds,
      ScalingConfig: { MaximumConcurrency: settings.worker.maxConcurrency },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('moves a message to the DLQ after maxReceiveCount receives and keeps it for the queue retention', () => {
    expect(resource('TaskQueue/Queue').Properties).toMatchObject({
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [id('TaskQueue/DeadLetterQueue'), 'Arn'] },
        maxReceiveCount: settings.queue.maxReceiveCount,
      },
      MessageRetentionPeriod: settings.queue.retentionDays * 86_400,
    });
    expect(property('TaskQueue/DeadLetterQueue', 'MessageRetentionPeriod')).toBe(
      settings.queue.deadLetterRetentionDays * 86_400,
    );
  });

  it('feeds the dead-letter handler from the DLQ with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: id('DeadLetterHandler/Function') },
      EventSourceArn: { 'Fn::GetAtt': [id('TaskQueue/DeadLetterQueue'), 'Arn'] },
      BatchSize: settings.dlq.batchSize,
      ScalingConfig: { MaximumConcurrency: settings.dlq.maxConcurrency },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('keeps DLQ messages invisible for at least 6 x the dead-letter handler timeout', () => {
    const visibilityTimeout = property<number>('TaskQueue/DeadLetterQueue', 'VisibilityTimeout');
    expect(visibilityTimeout).toBeGreaterThanOrEqual(6 * property<number>('DeadLetterHandler/Function', 'Timeout'));
  });

  it.each(['TaskQueue/Queue', 'TaskQueue/DeadLetterQueue'])('encrypts %s and refuses requests without TLS', (path) => {
    expect(property(path, 'SqsManagedSseEnabled')).toBe(true);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id(path) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('task table', () => {
  it('is keyed by taskId, billed on demand and encrypted with the AWS managed key', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: TASK_TABLE.partitionKey, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
  });

  it('has point-in-time recovery and deletion protection, and survives stack deletion', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Replicas: [
          Match.objectLike({
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: {
              PointInTimeRecoveryEnabled: true,
              RecoveryPeriodInDays: settings.store.pointInTimeRecoveryDays,
            },
          }),
        ],
      },
    });
  });

  it('caps the on-demand throughput of the table and its owner index at the ceilings from settings', () => {
    const ceiling = {
      MaxReadRequestUnits: settings.store.maxReadRequestUnitsPerSecond,
      MaxWriteRequestUnits: settings.store.maxWriteRequestUnitsPerSecond,
    };
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      WriteOnDemandThroughputSettings: { MaxWriteRequestUnits: ceiling.MaxWriteRequestUnits },
      Replicas: [
        Match.objectLike({
          ReadOnDemandThroughputSettings: { MaxReadRequestUnits: ceiling.MaxReadRequestUnits },
          GlobalSecondaryIndexes: [
            Match.objectLike({
              IndexName: TASK_TABLE.ownerIndex.name,
              ReadOnDemandThroughputSettings: { MaxReadRequestUnits: ceiling.MaxReadRequestUnits },
            }),
          ],
        }),
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({ WriteOnDemandThroughputSettings: { MaxWriteRequestUnits: ceiling.MaxWriteRequestUnits } }),
      ],
    });
  });

  it('expires tasks through TTL on expiresAt', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TimeToLiveSpecification: { AttributeName: TASK_TABLE.ttlAttribute, Enabled: true },
    });
  });

  it('has the owner index for listing, newest first by createdAt, projecting keys only', () => {
    const { ownerIndex } = TASK_TABLE;
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: ownerIndex.partitionKey, AttributeType: 'S' },
        { AttributeName: ownerIndex.sortKey, AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: ownerIndex.name,
          KeySchema: [
            { AttributeName: ownerIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: ownerIndex.sortKey, KeyType: 'RANGE' },
          ],
          // Anything more and every claim, progress write and completion would also write the index.
          Projection: { ProjectionType: 'KEYS_ONLY' },
        }),
      ],
    });
  });
});

describe.each(FUNCTIONS)('$owner Lambda', ({ owner, timeoutSeconds, memoryMiB, reserved }) => {
  it(`reserves ${reserved} concurrent executions: its guaranteed share and its ceiling`, () => {
    expect(property(`${owner}/Function`, 'ReservedConcurrentExecutions')).toBe(reserved);
  });

  it('runs on the newest Node.js runtime, on arm64, with timeout and memory from settings', () => {
    expect(resource(`${owner}/Function`).Properties).toMatchObject({
      Runtime: Runtime.NODEJS_24_X.name,
      Architectures: ['arm64'],
      Timeout: timeoutSeconds,
      MemorySize: memoryMiB,
    });
  });

  it('logs JSON to its own log group with a retention', () => {
    expect(property(`${owner}/Function`, 'LoggingConfig')).toEqual({
      LogFormat: 'JSON',
      LogGroup: { Ref: id(`${owner}/LogGroup`) },
    });
    expect(property(`${owner}/LogGroup`, 'RetentionInDays')).toBeGreaterThan(0);
  });

  it('gets the shared function environment and no NODE_OPTIONS (stacks are mapped when formatted)', () => {
    const expected: Record<string, unknown> = {
      ...functionEnvironment({
        tableName: 'table',
        queueUrl: 'queue',
        scheduleTableName: 'schedules',
        taskDataBucket: 'bucket',
      }),
      [ENV.tableName]: { Ref: id('TaskStore/Table') },
      [ENV.taskDataBucket]: { Ref: id('TaskData/Bucket') },
      [ENV.queueUrl]: { Ref: id('TaskQueue/Queue') },
      // The secret's ARN, never its value.
      [ENV.deploymentKeySecretArn]: { Ref: id('DeploymentKey/Secret') },
      [ENV.callbackQueueUrl]: { Ref: id('Callbacks/Queue') },
      [ENV.scheduleTableName]: { Ref: id('ScheduleStore/Table') },
      // Only the API puts schedules into the group (and the fire function could not name itself).
      ...(owner === 'TaskApi' && {
        ...schedulerEnvironment({ groupName: '', targetArn: '', roleArn: '', deadLetterQueueArn: '' }),
        [ENV.scheduleGroupName]: scheduleGroupName,
        [ENV.scheduleTargetArn]: { 'Fn::GetAtt': [id('TaskScheduler/Function'), 'Arn'] },
        [ENV.scheduleRoleArn]: { 'Fn::GetAtt': [id('TaskScheduler/SchedulerRole'), 'Arn'] },
        [ENV.scheduleDeadLetterQueueArn]: { 'Fn::GetAtt': [id('TaskScheduler/DeadLetterQueue'), 'Arn'] },
      }),
      // Every lane's queues, as JSON around the queue URLs (test/infra/lanes.test.ts reads it).
      [ENV.lanes]: { 'Fn::Join': expect.anything() },
    };
    expect(property(`${owner}/Function`, 'Environment')).toEqual({ Variables: expected });
  });
});

describe('deployment key', () => {
  it('is generated by CloudFormation inside Secrets Manager: no value in the template', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const secret = resource('DeploymentKey/Secret').Properties;
    expect(secret.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
    expect(secret.SecretString).toBeUndefined();
  });

  it('is readable by the API (owner hashes, callback secrets), the callback delivery (signing) and the fire function (owner groups) alone', () => {
    const readers = FUNCTIONS.map(({ owner }) => owner).filter((owner) =>
      grantsOf(owner).some((grant) => grant.startsWith('secretsmanager:')),
    );
    expect(readers).toEqual(['TaskApi', 'Callbacks', 'TaskScheduler']);
  });
});

describe('permissions', () => {
  it('lets the API Lambda write, read, cancel and list tasks and enqueue them, nothing more', () => {
    expect(grantsOf('TaskApi')).toEqual(
      [
        'dynamodb:DeleteItem TaskStore/Table',
        'dynamodb:GetItem TaskStore/Table',
        'dynamodb:PutItem TaskStore/Table',
        'dynamodb:UpdateItem TaskStore/Table',
        // Reads by id are owner-scoped queries; listing queries the index, then reads the page's items.
        'dynamodb:Query TaskStore/Table',
        'dynamodb:BatchGetItem TaskStore/Table',
        `dynamodb:Query TaskStore/Table/index/${TASK_TABLE.ownerIndex.name}`,
        // Every lane's queues, normal and high priority.
        'sqs:SendMessage TaskQueue/Queue',
        // A task cancelled while QUEUED ends here: its callback is queued.
        'sqs:SendMessage Callbacks/Queue',
        'sqs:SendMessage TaskQueue/HighPriorityQueue',
        'sqs:SendMessage Lane-long/TaskQueue/Queue',
        'sqs:SendMessage Lane-long/TaskQueue/HighPriorityQueue',
        // The deployment key, for the keyed owner hash in its logs and the task data keys.
        'secretsmanager:GetSecretValue DeploymentKey/Secret',
        // Schedules: their records (owner-scoped listing is a Query on the owner's partition)...
        'dynamodb:PutItem ScheduleStore/Table',
        'dynamodb:GetItem ScheduleStore/Table',
        'dynamodb:DeleteItem ScheduleStore/Table',
        'dynamodb:Query ScheduleStore/Table',
        // ...and their timing: schedules of the deployment's group only, and the role Scheduler assumes for them.
        ...['CreateSchedule', 'UpdateSchedule', 'DeleteSchedule'].map(
          (action) =>
            `scheduler:${action} arn:AWS::Partition:scheduler:AWS::Region:AWS::AccountId:schedule/${scheduleGroupName}/*`,
        ),
        'iam:PassRole TaskScheduler/SchedulerRole',
        ...TASK_DATA_GRANTS,
        'logs:CreateLogStream TaskApi/LogGroup',
        'logs:PutLogEvents TaskApi/LogGroup',
        ...TRACING_GRANTS,
      ].sort(),
    );
  });

  it.each(['TaskWorker', 'Lane-long/TaskWorker'])(
    "lets %s claim and update tasks, consume its lane's two queues and delay retries, nothing more",
    (owner) => {
      const queues = owner === 'TaskWorker' ? 'TaskQueue' : 'Lane-long/TaskQueue';
      const consume = (queue: string) =>
        ['ChangeMessageVisibility', 'DeleteMessage', 'GetQueueAttributes', 'GetQueueUrl', 'ReceiveMessage'].map(
          (action) => `sqs:${action} ${queues}/${queue}`,
        );
      expect(grantsOf(owner)).toEqual(
        [
          'dynamodb:GetItem TaskStore/Table',
          'dynamodb:UpdateItem TaskStore/Table',
          ...consume('Queue'),
          ...consume('HighPriorityQueue'),
          'sqs:SendMessage Callbacks/Queue',
          ...TASK_DATA_GRANTS,
          `logs:CreateLogStream ${owner}/LogGroup`,
          `logs:PutLogEvents ${owner}/LogGroup`,
          ...TRACING_GRANTS,
        ].sort(),
      );
    },
  );

  it('lets the dead-letter handler update tasks and consume the DLQ', () => {
    expect(grantsOf('DeadLetterHandler')).toEqual(
      [
        'dynamodb:GetItem TaskStore/Table',
        'dynamodb:UpdateItem TaskStore/Table',
        ...['TaskQueue', 'Lane-long/TaskQueue'].flatMap((queues) =>
          ['ChangeMessageVisibility', 'DeleteMessage', 'GetQueueAttributes', 'GetQueueUrl', 'ReceiveMessage'].map(
            (action) => `sqs:${action} ${queues}/DeadLetterQueue`,
          ),
        ),
        'sqs:SendMessage Callbacks/Queue',
        'logs:CreateLogStream DeadLetterHandler/LogGroup',
        'logs:PutLogEvents DeadLetterHandler/LogGroup',
        ...TRACING_GRANTS,
      ].sort(),
    );
  });

  it('lets the recovery sweep scan the table and enqueue, nothing more', () => {
    expect(grantsOf('RecoverySweep')).toEqual(
      [
        'dynamodb:Scan TaskStore/Table',
        'sqs:SendMessage TaskQueue/Queue',
        'sqs:SendMessage Callbacks/Queue',
        'sqs:SendMessage TaskQueue/HighPriorityQueue',
        'sqs:SendMessage Lane-long/TaskQueue/Queue',
        'sqs:SendMessage Lane-long/TaskQueue/HighPriorityQueue',
        'logs:CreateLogStream RecoverySweep/LogGroup',
        'logs:PutLogEvents RecoverySweep/LogGroup',
        ...TRACING_GRANTS,
      ].sort(),
    );
  });

  it('lets the callback delivery read and record tasks, sign, link task data, consume its queue and send retries, nothing more', () => {
    expect(grantsOf('Callbacks')).toEqual(
      [
        'dynamodb:GetItem TaskStore/Table',
        'dynamodb:UpdateItem TaskStore/Table',
        'secretsmanager:GetSecretValue DeploymentKey/Secret',
        'sqs:ChangeMessageVisibility Callbacks/Queue',
        'sqs:DeleteMessage Callbacks/Queue',
        'sqs:GetQueueAttributes Callbacks/Queue',
        'sqs:GetQueueUrl Callbacks/Queue',
        'sqs:ReceiveMessage Callbacks/Queue',
        'sqs:SendMessage Callbacks/Queue',
        'logs:CreateLogStream Callbacks/LogGroup',
        'logs:PutLogEvents Callbacks/LogGroup',
        // Presigned links to a result or files in the bucket, in the event.
        's3:GetObject TaskData/Bucket/*',
        's3:ListBucket TaskData/Bucket',
        ...TRACING_GRANTS,
      ].sort(),
    );
  });

  it('lets the fire function submit and read tasks, read schedules and the deployment key, and enqueue to every lane, nothing more', () => {
    expect(grantsOf('TaskScheduler')).toEqual(
      [
        'dynamodb:PutItem TaskStore/Table',
        'dynamodb:GetItem TaskStore/Table',
        'dynamodb:UpdateItem TaskStore/Table',
        'dynamodb:DeleteItem TaskStore/Table',
        'dynamodb:GetItem ScheduleStore/Table',
        'sqs:SendMessage TaskQueue/Queue',
        // A firing's task goes to its own lane, at its own priority.
        'sqs:SendMessage TaskQueue/HighPriorityQueue',
        'sqs:SendMessage Lane-long/TaskQueue/Queue',
        'sqs:SendMessage Lane-long/TaskQueue/HighPriorityQueue',
        // Its failed async invocations go to the firings' dead-letter queue.
        'sqs:SendMessage TaskScheduler/DeadLetterQueue',
        'logs:CreateLogStream TaskScheduler/LogGroup',
        'logs:PutLogEvents TaskScheduler/LogGroup',
        'secretsmanager:GetSecretValue DeploymentKey/Secret',
        ...TRACING_GRANTS,
      ].sort(),
    );
  });

  it("lets Scheduler invoke the fire function and dead-letter a firing, nothing more, for this account's group only", () => {
    expect(grantsOfRole('TaskScheduler/SchedulerRole')).toEqual(
      ['lambda:InvokeFunction TaskScheduler/Function', 'sqs:SendMessage TaskScheduler/DeadLetterQueue'].sort(),
    );
    expect(property('TaskScheduler/SchedulerRole', 'AssumeRolePolicyDocument')).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id('TaskScheduler/Group'), 'Arn'] } },
          },
        },
      ],
    });
  });

  it('lets the API pass the Scheduler role to Scheduler alone', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>,
    );
    expect(statements.filter((statement) => statement.Action === 'iam:PassRole')).toEqual([
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [id('TaskScheduler/SchedulerRole'), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
  });

  it('runs the recovery sweep on the schedule from settings', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: Schedule.rate(Duration.minutes(settings.recovery.intervalMinutes)).expressionString,
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [id('RecoverySweep/Function'), 'Arn'] } })],
    });
  });

  it.each(FUNCTIONS)('gives the $owner role no managed policy', ({ owner }) => {
    expect(property(`${owner}/Role`, 'ManagedPolicyArns')).toBeUndefined();
  });
});

describe('schedules', () => {
  it('has one schedule group for the deployment, destroyed with it so nothing fires into a deleted function', () => {
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    expect(resource('TaskScheduler/Group')).toMatchObject({
      Properties: { Name: scheduleGroupName },
      DeletionPolicy: 'Delete',
    });
  });

  it('keeps schedule records in a table keyed by owner and name, like the tasks: PITR, protected, retained', () => {
    const table = resource('ScheduleStore/Table') as Resource & { DeletionPolicy?: string };
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: 'ownerId', KeyType: 'HASH' },
      { AttributeName: 'name', KeyType: 'RANGE' },
    ]);
    const [replica] = table.Properties.Replicas as Array<Record<string, unknown>>;
    expect(replica?.DeletionProtectionEnabled).toBe(true);
    expect(replica?.PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
      RecoveryPeriodInDays: settings.store.pointInTimeRecoveryDays,
    });
  });

  it('sends firings the fire function failed (after two async retries) to the dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: id('TaskScheduler/Function') },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [id('TaskScheduler/DeadLetterQueue'), 'Arn'] } },
      },
    });
  });

  it('encrypts the firings dead-letter queue, refuses plain HTTP and keeps messages for the retention in settings', () => {
    expect(property('TaskScheduler/DeadLetterQueue', 'SqsManagedSseEnabled')).toBe(true);
    expect(property('TaskScheduler/DeadLetterQueue', 'MessageRetentionPeriod')).toBe(
      settings.schedules.deadLetterRetentionDays * 86_400,
    );
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id('TaskScheduler/DeadLetterQueue') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('pages through the alarm topic as soon as a firing lands on the dead-letter queue, and when it clears', () => {
    const topic = { Ref: id('Operations/AlarmTopic') };
    expect(resource('TaskScheduler/FailedFiringsAlarm').Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id('TaskScheduler/DeadLetterQueue'), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });
});

describe('outputs', () => {
  it.each(['ApiUrl', 'TableName', 'QueueUrl', 'DeploymentKeySecretArn', 'ScheduleTableName', 'ScheduleGroupName'])(
    'outputs %s',
    (name) => {
      template.hasOutput(name, {});
    },
  );

  it('points ApiUrl at the $default stage', () => {
    const url = template.findOutputs('ApiUrl').ApiUrl?.Value;
    expect(describeValue(url)).toMatch(/^https:\/\/TaskApi\/HttpApi\.execute-api\.AWS::Region\.AWS::URLSuffix\/$/);
  });
});

describe('reserved concurrency', () => {
  const reservedInTemplate = () =>
    Object.values(template.findResources('AWS::Lambda::Function')).reduce(
      (sum, fn) => sum + (fn.Properties.ReservedConcurrentExecutions as number),
      0,
    );

  it('leaves the 100 executions Lambda keeps unreserved in an account with the default quota', () => {
    expect(reservedInTemplate()).toBeLessThanOrEqual(settings.lambda.accountConcurrency - LAMBDA_UNRESERVED_MINIMUM);
  });

  it('keeps the API from taking what the worker needs: both reserved, the API bounded below the quota', () => {
    expect(property('TaskApi/Function', 'ReservedConcurrentExecutions')).toBeLessThan(
      settings.lambda.accountConcurrency,
    );
    expect(property('TaskWorker/Function', 'ReservedConcurrentExecutions')).toBeGreaterThanOrEqual(
      settings.worker.maxConcurrency,
    );
  });

  it.each([
    [{ accountConcurrency: 150 }, /reserve only 50 \(Lambda keeps 100 unreserved\)/],
    [{ accountConcurrency: '10' }, /reserve only 0/],
    [{ accountConcurrency: 'lots' }, /accountConcurrency must be a whole number/],
  ])('refuses to synthesize with context %j', (context, message) => {
    expect(() => synthOffloadStack({ context })).toThrow(message);
  });

  it('synthesizes for an account whose quota just fits', () => {
    const quota = reservedInTemplate() + LAMBDA_UNRESERVED_MINIMUM;
    expect(() => synthOffloadStack({ context: { accountConcurrency: String(quota) } })).not.toThrow();
  });

  it.each([
    ['a larger API reservation', { ...settings, api: { ...settings.api, reservedConcurrency: 890 } }],
    ['more worker concurrency', { ...settings, worker: { ...settings.worker, maxConcurrency: 800 } }],
  ])('names every reservation in the error for %s', (_case, changed) => {
    expect(() => checkReservedConcurrency(changed)).toThrow(/api \d+ \+ worker \d+ \+ deadLetter 2 \+ recovery 1/);
  });
});

describe('diagnosticTasks context', () => {
  it.each([
    [{}, 'false'],
    [{ diagnosticTasks: true }, 'true'],
    [{ diagnosticTasks: 'true' }, 'true'],
    [{ diagnosticTasks: 'false' }, 'false'],
  ])('given %j sets the diagnostic flag to %s on every function', (context, expected) => {
    const synthesized = synthOffloadStack({ context });
    const functions = Object.values(synthesized.template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(FUNCTIONS.length);
    for (const fn of functions) expect(fn.Properties.Environment.Variables[ENV.diagnosticTasks]).toBe(expected);
  });
});

describe('demoTasks context', () => {
  it.each([
    [{}, []],
    [{ demoTasks: 'true' }, ['echo', 'sleep', 'longSleep']],
  ])('given %j registers %j: the demonstration types only when asked for', (context, expected) => {
    expect(synthOffloadStack({ context }).stack.offload.taskTypeNames).toEqual(expected);
  });

  it('bundles the demonstration task module into the worker only when asked for', { timeout: 60_000 }, () => {
    const workerBundle = (context: Record<string, unknown>) => {
      const { stack, outdir } = synthOffloadStack({ context, bundle: true });
      const code = stack.offload.worker.node.findChild('Code') as unknown as { assetPath: string };
      return readFileSync(join(outdir, code.assetPath, 'index.mjs'), 'utf8');
    };
    // The sleep task's result field: a string literal minification keeps.
    expect(workerBundle({ demoTasks: 'true' })).toContain('sleptMs');
    expect(workerBundle({})).not.toContain('sleptMs');
  });
});
