import { fileURLToPath } from 'node:url';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { Offload, type OffloadProps } from '../../infra/cdk.js';
import { settings } from '../../infra/settings.js';
import { ENV } from '../../shared/env-names.js';
import { FAIR_SHARE_TABLE } from '../../shared/fair-share.js';
import { FAIR_SHARE_COUNTS, METRICS_NAMESPACE } from '../../shared/metric-names.js';

/** What the worker's slots and waiters use of the fair-share table, sorted. */
const SLOT_ACTIONS = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];

const fixture = (name: string) => fileURLToPath(new URL(`../support/fixtures/${name}`, import.meta.url));

/** The parts of a template resource these tests read. */
interface TemplateResource {
  readonly Type: string;
  readonly Properties: {
    readonly Environment?: { readonly Variables: Record<string, string> };
    readonly Roles?: ReadonlyArray<{ readonly Ref: string }>;
    readonly PolicyDocument?: { readonly Statement: ReadonlyArray<{ Action: string | string[]; Resource: unknown }> };
  };
}

/** The construct in a stack of its own, without bundling. */
function build(props: OffloadProps = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Consumer');
  const offload = new Offload(stack, 'Offload', { tasks: fixture('report-tasks.ts'), ...props });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, TemplateResource>;
  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
  const environmentOf = (fn: { node: { defaultChild?: unknown } }) =>
    resources[logicalId(fn)]?.Properties.Environment?.Variables ?? {};
  /** `action` of every statement a function's role has on the fair-share table, sorted. */
  const fairShareActionsOf = (fn: { role?: { node: { defaultChild?: unknown } } }) => {
    const table = offload.fairShareTable;
    if (!table || !fn.role) return [];
    const tableId = logicalId(table);
    const roleId = logicalId(fn.role);
    return Object.values(resources)
      .filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' && r.Properties.Roles?.some((role: { Ref: string }) => role.Ref === roleId),
      )
      .flatMap((policy) => policy.Properties.PolicyDocument?.Statement ?? [])
      .filter((statement) => JSON.stringify(statement.Resource).includes(tableId))
      .flatMap((statement) => [statement.Action].flat())
      .sort();
  };
  /** The task queues (their construct paths, sorted) a function may send to: the callback queue is not one. */
  const sendsOf = (fn: { role?: { node: { defaultChild?: unknown } } }) => {
    const roleId = fn.role ? logicalId(fn.role) : '';
    const taskQueues = Object.values(offload.lanes).flatMap((lane) => [lane.queue, lane.highPriorityQueue]);
    return Object.values(resources)
      .filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' && r.Properties.Roles?.some((role: { Ref: string }) => role.Ref === roleId),
      )
      .flatMap((policy) => policy.Properties.PolicyDocument?.Statement ?? [])
      .filter((statement) => [statement.Action].flat().includes('sqs:SendMessage'))
      .flatMap((statement) =>
        taskQueues.filter((queue) => JSON.stringify(statement.Resource).includes(logicalId(queue))),
      )
      .map((queue) => queue.node.path.replace(/^Consumer\/Offload\//, ''))
      .sort();
  };
  return { app, stack, offload, template, environmentOf, fairShareActionsOf, sendsOf };
}

describe('fair share in the construct', () => {
  it('builds no fair-share table, grants and variables while both limits are off', () => {
    const { offload, environmentOf, sendsOf } = build();

    expect(offload.fairShareTable).toBeUndefined();
    expect(environmentOf(offload.worker)).not.toHaveProperty(ENV.fairShareTableName);
    expect(environmentOf(offload.worker)).toMatchObject({ [ENV.fairQueues]: 'true' });
    expect(sendsOf(offload.worker)).toEqual([]);
  });

  it('with the owner concurrency limit on: a table of leases, and the worker reads and writes it and resends waiting messages', () => {
    const { offload, template, environmentOf, fairShareActionsOf, sendsOf } = build({
      fairness: { ownerConcurrency: { enabled: true, maxRunning: 4 } },
    });

    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: FAIR_SHARE_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: FAIR_SHARE_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: FAIR_SHARE_TABLE.ttlAttribute, Enabled: true },
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: Match.objectLike({ PointInTimeRecoveryEnabled: true }) }),
      ],
    });
    expect(environmentOf(offload.worker)).toMatchObject({
      [ENV.ownerMaxRunning]: '4',
      [ENV.ownerWaitMaxSeconds]: String(settings.fairness.ownerConcurrency.maxWaitSeconds),
      [ENV.fairShareTableName]: expect.anything(),
    });
    expect(fairShareActionsOf(offload.worker)).toEqual(SLOT_ACTIONS);
    // A waiting task's fresh message goes to its own queue; a release wakes a waiter of any priority.
    expect(sendsOf(offload.worker)).toEqual(['TaskQueue/HighPriorityQueue', 'TaskQueue/Queue']);
    expect(fairShareActionsOf(offload.apiFunction)).toEqual([]);
  });

  it('with a task type limited per owner and the deployment limit off: the table and the worker’s grants, no deployment limit', () => {
    const { offload, environmentOf, fairShareActionsOf } = build({ tasks: fixture('limited-tasks.ts') });

    expect(offload.fairShareTable).toBeDefined();
    expect(environmentOf(offload.worker)).not.toHaveProperty(ENV.ownerMaxRunning);
    expect(fairShareActionsOf(offload.worker)).toEqual(SLOT_ACTIONS);
  });

  it('with the submit rate limit on: the API reads and writes the table, and its own 429s page nobody', () => {
    const { offload, template, environmentOf, fairShareActionsOf, sendsOf } = build({
      fairness: { submitRate: { enabled: true, maxTasks: 100, windowSeconds: 10 } },
    });

    expect(environmentOf(offload.apiFunction)).toMatchObject({
      [ENV.submitRateMaxTasks]: '100',
      [ENV.submitRateWindowSeconds]: '10',
    });
    expect(fairShareActionsOf(offload.apiFunction)).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(fairShareActionsOf(offload.worker)).toEqual([]);
    expect(sendsOf(offload.worker)).toEqual([]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: settings.observability.alarms.apiThrottledRatePercent,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp('FILL\\(part, 0\\) - FILL\\(own, 0\\)') }),
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Namespace: METRICS_NAMESPACE, MetricName: FAIR_SHARE_COUNTS.submitRateLimited }),
          }),
        }),
      ]),
    });
  });

  it('with fair queues off: messages without groups, and the oldest-message alarm on the whole queue', () => {
    const { offload, template, environmentOf } = build({ fairness: { fairQueues: false } });

    expect(environmentOf(offload.apiFunction)).toMatchObject({ [ENV.fairQueues]: 'false' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ApproximateAgeOfOldestMessage' }) }),
        }),
      ],
    });
  });

  it.each([
    ['a limit of 0', { fairness: { ownerConcurrency: { enabled: true, maxRunning: 0 } } }, /maxRunning is 0/],
    ['a negative rate', { fairness: { submitRate: { enabled: true, maxTasks: -5 } } }, /maxTasks is -5/],
    ['a misspelt fairness setting', { fairness: { fairQueue: true } as never }, /fairness\.fairQueue is not a setting/],
  ])('refuses %s at synth', (_case, props, message) => {
    expect(() => build(props as OffloadProps)).toThrow(message);
  });

  it.each([
    ['every limit on and a customer-managed key', false],
    ['a plain queue added beside it, which the checks must refuse', true],
  ])('runs the AwsSolutions checks with %s', (_case, withPlainQueue) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Consumer');
    new Offload(stack, 'Offload', {
      customerManagedKey: true,
      tasks: fixture('limited-tasks.ts'),
      fairness: { ownerConcurrency: { enabled: true }, submitRate: { enabled: true } },
    });
    if (withPlainQueue) new Queue(stack, 'PlainQueue');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    if (withPlainQueue) expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
    else expect(() => app.synth()).not.toThrow();
  });
});
