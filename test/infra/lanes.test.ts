import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { lanes as demoLanes } from '../../functions/tasks/demo.js';
import { Offload, type OffloadProps } from '../../infra/cdk.js';
import { lanesOf } from '../../infra/lanes.js';
import { settings, withOverrides } from '../../infra/settings.js';
import { ENV } from '../../shared/env-names.js';
import { constructPathsByLogicalId, logicalIdOf, removeSynthOutput, synthOffloadStack } from './synth-offload-stack.js';

afterAll(removeSynthOutput);

const { stack, template } = synthOffloadStack();
const paths = constructPathsByLogicalId(stack);
const id = (path: string) => logicalIdOf(stack, path);
type Resource = { Type: string; Properties: Record<string, never> };
const resources = template.toJSON().Resources as Record<string, Resource>;
const [defaultLane, longLane] = lanesOf(withOverrides(settings, { lanes: demoLanes }));

/** A CloudFormation value with every Ref and GetAtt replaced by the construct path it points at. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return paths.get(object.Ref as string) ?? String(object.Ref);
  if ('Fn::GetAtt' in object) return paths.get((object['Fn::GetAtt'] as [string])[0]) ?? '?';
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(describeValue).join(separator);
  }
  return JSON.stringify(value);
}

const mappingsOf = (functionPath: string) =>
  Object.values(resources).filter(
    (resource) =>
      resource.Type === 'AWS::Lambda::EventSourceMapping' &&
      describeValue(resource.Properties.FunctionName) === functionPath,
  );

const LANES = [
  { name: 'default', prefix: '', lane: defaultLane },
  { name: 'long', prefix: 'Lane-long/', lane: longLane },
];

describe('the default app', () => {
  it('has two lanes: the default one and the demonstration module’s 15-minute lane', () => {
    expect(lanesOf(withOverrides(settings, { lanes: demoLanes })).map((lane) => lane.name)).toEqual([
      'default',
      'long',
    ]);
    expect(longLane?.timeoutSeconds).toBe(900);
    expect(stack.offload.lanes.long?.worker).toBeDefined();
  });

  it.each(LANES)('gives lane $name its own queue, high-priority queue, dead-letter queue and worker', ({ prefix }) => {
    for (const path of ['TaskQueue/Queue', 'TaskQueue/HighPriorityQueue', 'TaskQueue/DeadLetterQueue']) {
      expect(resources[id(`${prefix}${path}`)]?.Type).toBe('AWS::SQS::Queue');
    }
    expect(resources[id(`${prefix}TaskWorker/Function`)]?.Type).toBe('AWS::Lambda::Function');
  });

  it.each(LANES)(
    'keeps lane $name’s messages invisible for at least 6 × its own worker timeout',
    ({ prefix, lane }) => {
      const timeout = resources[id(`${prefix}TaskWorker/Function`)]?.Properties.Timeout as unknown as number;
      expect(timeout).toBe(lane?.timeoutSeconds);
      for (const queue of ['Queue', 'HighPriorityQueue']) {
        const visibility = resources[id(`${prefix}TaskQueue/${queue}`)]?.Properties
          .VisibilityTimeout as unknown as number;
        expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
      }
    },
  );

  it.each(LANES)(
    'feeds lane $name’s worker from its two queues: the lane’s concurrency, and a reserved share for high priority',
    ({ prefix, lane }) => {
      const mappings = mappingsOf(`${prefix}TaskWorker/Function`).map((mapping) => ({
        queue: describeValue(mapping.Properties.EventSourceArn),
        batchSize: mapping.Properties.BatchSize,
        window: mapping.Properties.MaximumBatchingWindowInSeconds,
        concurrency: (mapping.Properties.ScalingConfig as unknown as { MaximumConcurrency: number }).MaximumConcurrency,
        responses: mapping.Properties.FunctionResponseTypes,
      }));

      expect(mappings).toEqual([
        {
          queue: `${prefix}TaskQueue/Queue`,
          batchSize: lane?.batchSize,
          window: lane?.maxBatchingWindowSeconds,
          concurrency: lane?.normalConcurrency,
          responses: ['ReportBatchItemFailures'],
        },
        {
          queue: `${prefix}TaskQueue/HighPriorityQueue`,
          batchSize: lane?.highPriorityBatchSize,
          window: 0,
          concurrency: lane?.highPriorityConcurrency,
          responses: ['ReportBatchItemFailures'],
        },
      ]);
      // The function may run both mappings' maxima at once: neither throttles the other.
      expect(resources[id(`${prefix}TaskWorker/Function`)]?.Properties.ReservedConcurrentExecutions).toBe(
        (lane?.normalConcurrency ?? 0) + (lane?.highPriorityConcurrency ?? 0),
      );
    },
  );

  it.each(LANES)('dead-letters both of lane $name’s queues to its own dead-letter queue', ({ prefix }) => {
    for (const queue of ['Queue', 'HighPriorityQueue']) {
      const policy = resources[id(`${prefix}TaskQueue/${queue}`)]?.Properties.RedrivePolicy as unknown as {
        deadLetterTargetArn: unknown;
        maxReceiveCount: number;
      };
      expect(describeValue(policy.deadLetterTargetArn)).toBe(`${prefix}TaskQueue/DeadLetterQueue`);
      expect(policy.maxReceiveCount).toBe(settings.queue.maxReceiveCount);
    }
  });

  it('reads every lane’s dead-letter queue into the one dead-letter handler', () => {
    expect(mappingsOf('DeadLetterHandler/Function').map((m) => describeValue(m.Properties.EventSourceArn))).toEqual([
      'TaskQueue/DeadLetterQueue',
      'Lane-long/TaskQueue/DeadLetterQueue',
    ]);
  });

  it('keeps the logical ids the default lane’s table, queues, worker and mappings had before lanes', () => {
    // A changed logical id would make CloudFormation replace the resource: a replaced queue loses its messages.
    expect(
      [
        'TaskStore/Table',
        'TaskQueue/Queue',
        'TaskQueue/DeadLetterQueue',
        'TaskWorker/Function',
        'TaskWorker/Function/SqsEventSource:OffloadTaskQueue12342647',
        'DeadLetterHandler/Function/SqsEventSource:OffloadTaskQueueDeadLetterQueueA64DD177',
      ].map(id),
    ).toEqual([
      'TaskStoreTable7D7100B6',
      'TaskQueue1EF2D3F6',
      'TaskQueueDeadLetterQueueD66B0604',
      'TaskWorkerFunction2A45712B',
      'TaskWorkerFunctionSqsEventSourceOffloadTaskQueue12342647D946F0CB',
      'DeadLetterHandlerFunctionSqsEventSourceOffloadTaskQueueDeadLetterQueueA64DD17754424673',
    ]);
  });

  it('tells every function every lane’s queues and the sweep’s stale time for it', () => {
    const variables = resources[id('RecoverySweep/Function')]?.Properties.Environment as unknown as {
      Variables: Record<string, unknown>;
    };

    expect(JSON.parse(describeValue(variables.Variables[ENV.lanes]))).toEqual({
      default: {
        queues: { normal: 'TaskQueue/Queue', high: 'TaskQueue/HighPriorityQueue' },
        staleAfterSeconds: settings.recovery.staleAfterSeconds,
      },
      long: {
        queues: { normal: 'Lane-long/TaskQueue/Queue', high: 'Lane-long/TaskQueue/HighPriorityQueue' },
        staleAfterSeconds: longLane?.staleAfterSeconds,
      },
    });
  });

  it.each([
    ['Lane-long/TaskQueue/Queue', longLane?.oldestMessageAlarmSeconds],
    ['Lane-long/TaskQueue/HighPriorityQueue', longLane?.oldestMessageAlarmSeconds],
    ['TaskQueue/HighPriorityQueue', defaultLane?.oldestMessageAlarmSeconds],
    ['TaskQueue/Queue', defaultLane?.oldestMessageAlarmSeconds],
  ])('alarms when the oldest message of %s is older than %i s: past its lane’s timeout', (queue, threshold) => {
    const metricOf = (alarm: Resource) =>
      (
        alarm.Properties.Metrics as unknown as [
          { MetricStat?: { Metric: { MetricName: string; Dimensions: [{ Value: unknown }] } } },
        ]
      )?.[0]?.MetricStat?.Metric;
    const alarms = Object.values(resources).filter((resource) => {
      const metric = resource.Type === 'AWS::CloudWatch::Alarm' ? metricOf(resource) : undefined;
      return (
        // Fair queues (on by default): the quiet owners' oldest message, so one owner's backlog pages nobody.
        metric?.MetricName === 'ApproximateAgeOfOldestMessageInQuietGroups' &&
        describeValue(metric.Dimensions[0].Value) === queue
      );
    });
    expect(alarms.map((alarm) => alarm.Properties.Threshold)).toEqual([threshold]);
  });

  it('alarms on the long lane’s dead-letter queue and on its worker’s error rate', () => {
    const lanePaths = [...paths.values()].filter((path) => path.startsWith('LaneOperations/Lane-long-'));
    expect(lanePaths).toEqual(
      expect.arrayContaining([
        'LaneOperations/Lane-long-DeadLettersAlarm',
        'LaneOperations/Lane-long-WorkerErrorRateAlarm',
      ]),
    );
  });
});

const fixture = (name: string) => fileURLToPath(new URL(`../support/fixtures/${name}`, import.meta.url));

function build(props: OffloadProps = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const consumer = new Stack(app, 'Consumer');
  const offload = new Offload(consumer, 'Offload', props);
  return { offload, template: () => Template.fromStack(consumer) };
}

describe('Offload lanes prop', () => {
  it('builds the default lane alone unless lanes are asked for', () => {
    const { offload } = build({ tasks: fixture('report-tasks.ts') });

    expect(Object.keys(offload.lanes)).toEqual(['default']);
  });

  it("exposes each lane's queues and worker, and takes the task module's own lanes", () => {
    const { offload } = build({ tasks: fixture('lane-tasks.ts'), lanes: { video: { maxConcurrency: 3 } } });

    expect(Object.keys(offload.lanes)).toEqual(['default', 'reports', 'video']);
    for (const lane of Object.values(offload.lanes)) {
      expect([lane.queue, lane.highPriorityQueue, lane.deadLetterQueue, lane.worker]).not.toContain(undefined);
    }
    expect(offload.lanes.reports?.lane.timeoutSeconds).toBe(600);
  });

  it('lets a prop tune a lane the task module declares, field by field', () => {
    const { offload } = build({ tasks: fixture('lane-tasks.ts'), lanes: { reports: { memoryMiB: 512 } } });

    expect(offload.lanes.reports?.lane).toMatchObject({ timeoutSeconds: 600, memoryMiB: 512 });
  });

  it('runs a lane in provisioned mode: pollers instead of a maximum concurrency', () => {
    const { template } = build({ lanes: { burst: { minimumPollers: 2, maximumPollers: 3 } } });

    template().hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 3 },
    });
    const mapping = Object.values(template().findResources('AWS::Lambda::EventSourceMapping')).find(
      (resource) => resource.Properties.ProvisionedPollerConfig,
    );
    expect(mapping?.Properties.ScalingConfig).toBeUndefined();
  });

  it.each<[string, OffloadProps, RegExp]>([
    [
      'a type whose lane the deployment lacks',
      { tasks: fixture('orphan-lane-tasks.ts') },
      /Task type "render" runs in lane "gpu", which this deployment does not have/,
    ],
    [
      'maxConcurrency and pollers on one lane',
      { lanes: { burst: { maxConcurrency: 5, maximumPollers: 3 } } },
      /provisioned mode \(minimumPollers, maximumPollers\) excludes maxConcurrency/,
    ],
    [
      'worker.maxConcurrency with provisioned pollers on the default lane',
      { worker: { maxConcurrency: 5 }, lanes: { default: { maximumPollers: 3 } } },
      /provisioned mode excludes maxConcurrency/,
    ],
    [
      'a lane timeout past 15 minutes',
      { lanes: { long: { timeoutSeconds: 1_000 } } },
      /lanes\.long\.timeoutSeconds is 1000/,
    ],
  ])('refuses %s at synth', (_case, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
