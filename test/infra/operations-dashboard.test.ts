import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { settings } from '../../infra/settings.js';
import {
  ACCESS_LOG_METRICS,
  FAIR_SHARE_COUNTS,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  TASK_COUNTS,
  TASK_TIMINGS,
} from '../../shared/metric-names.js';
import { TASK_TABLE } from '../../shared/task-table.js';
import { constructPathsByLogicalId, logicalIdOf, removeSynthOutput, synthOffloadStack } from './synth-offload-stack.js';

afterAll(removeSynthOutput);

const { stack, template } = synthOffloadStack();
const paths = constructPathsByLogicalId(stack);
const id = (path: string) => logicalIdOf(stack, path);
const thresholds = settings.observability.alarms;
/** DLQ not empty, oldest message, worker errors, API 5xx, API 429, table throttling, dead-letter handler, sweep. */
const ALARM_COUNT = 8;
/** Alarms of other constructs that page through the same topic (the callbacks' delivery DLQ, failed schedule firings). */
const OTHER_ALARMS = 2;
/**
 * The lanes' own (infra/constructs/lane-operations.ts): the default lane's high-priority queue's oldest
 * message; the long lane's oldest message on both queues, its dead-letter queue and its worker's errors.
 */
const LANE_ALARM_COUNT = 5;

/** A token in the dashboard body as readable text: the construct path it points at. */
function tokenText(part: Record<string, unknown>): string {
  if ('Ref' in part) return paths.get(part.Ref as string) ?? String(part.Ref);
  const [logicalId, attribute] = part['Fn::GetAtt'] as [string, string];
  return `${paths.get(logicalId) ?? logicalId}.${attribute}`;
}

interface Widget {
  readonly type: string;
  readonly properties: {
    readonly title: string;
    readonly metrics?: ReadonlyArray<ReadonlyArray<string | Record<string, unknown>>>;
    readonly yAxis?: { readonly left?: { readonly label?: string } };
    readonly alarms?: readonly string[];
  };
}

const widgets: Widget[] = (() => {
  const [dashboard, ...others] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  if (!dashboard || others.length > 0) throw new Error('Expected exactly one dashboard');
  const [, parts] = dashboard.Properties.DashboardBody['Fn::Join'] as [string, Array<string | Record<string, unknown>>];
  const body = parts.map((part) => (typeof part === 'string' ? part : tokenText(part))).join('');
  return JSON.parse(body).widgets;
})();

const widget = (title: string): Widget => {
  const found = widgets.find((w) => w.properties.title === title);
  if (!found) throw new Error(`No widget "${title}"; titles: ${widgets.map((w) => w.properties.title).join(', ')}`);
  return found;
};

/** Each metric line of a widget as `Namespace Name dim=value ... stat`. */
const linesOf = (title: string): string[] =>
  (widget(title).properties.metrics ?? []).map((line) => {
    const options = line.find((item) => typeof item === 'object') as { stat?: string; expression?: string };
    if (options.expression) return options.expression;
    const [namespace, name, ...dimensions] = line.filter((item) => typeof item === 'string') as string[];
    const pairs = [];
    for (let i = 0; i < dimensions.length; i += 2) pairs.push(`${dimensions[i]}=${dimensions[i + 1]}`);
    return [namespace, name, ...pairs, options.stat].join(' ');
  });

const task = (name: string, stat: string) =>
  `${METRICS_NAMESPACE} ${name} ${METRIC_DIMENSIONS.service}=${METRICS_SERVICE} ${stat}`;

describe('operations dashboard', () => {
  it.each([
    ['API requests (per minute)', ['AWS/ApiGateway Count ApiId=TaskApi/HttpApi Sum']],
    [
      'API errors (per minute)',
      [
        'AWS/ApiGateway 4xx ApiId=TaskApi/HttpApi Sum',
        'AWS/ApiGateway 5xx ApiId=TaskApi/HttpApi Sum',
        `${METRICS_NAMESPACE} ${ACCESS_LOG_METRICS.throttled} ${METRIC_DIMENSIONS.apiId}=TaskApi/HttpApi Sum`,
      ],
    ],
    [
      'API latency (ms)',
      ['AWS/ApiGateway Latency ApiId=TaskApi/HttpApi p50', 'AWS/ApiGateway Latency ApiId=TaskApi/HttpApi p99'],
    ],
    [
      'Task queue (messages)',
      [
        'AWS/SQS ApproximateNumberOfMessagesVisible QueueName=TaskQueue/Queue.QueueName Maximum',
        'AWS/SQS ApproximateNumberOfMessagesNotVisible QueueName=TaskQueue/Queue.QueueName Maximum',
      ],
    ],
    [
      'Age of oldest message (s)',
      [
        'AWS/SQS ApproximateAgeOfOldestMessage QueueName=TaskQueue/Queue.QueueName Maximum',
        'AWS/SQS ApproximateAgeOfOldestMessageInQuietGroups QueueName=TaskQueue/Queue.QueueName Maximum',
      ],
    ],
    [
      'Fair queues: noisy owners (message groups)',
      ['AWS/SQS ApproximateNumberOfNoisyGroups QueueName=TaskQueue/Queue.QueueName Maximum'],
    ],
    [
      'Fair queues: messages of quiet owners',
      [
        'AWS/SQS ApproximateNumberOfMessagesVisibleInQuietGroups QueueName=TaskQueue/Queue.QueueName Maximum',
        'AWS/SQS ApproximateNumberOfMessagesNotVisibleInQuietGroups QueueName=TaskQueue/Queue.QueueName Maximum',
      ],
    ],
    ['Fair share: waits and refusals (per minute)', Object.values(FAIR_SHARE_COUNTS).map((name) => task(name, 'Sum'))],
    [
      'Dead-letter queue (messages)',
      ['AWS/SQS ApproximateNumberOfMessagesVisible QueueName=TaskQueue/DeadLetterQueue.QueueName Maximum'],
    ],
    [
      'Worker invocations, errors, throttles (per minute)',
      [
        'AWS/Lambda Invocations FunctionName=TaskWorker/Function Sum',
        'AWS/Lambda Errors FunctionName=TaskWorker/Function Sum',
        'AWS/Lambda Throttles FunctionName=TaskWorker/Function Sum',
      ],
    ],
    ['Worker duration p99 (ms)', ['AWS/Lambda Duration FunctionName=TaskWorker/Function p99']],
    ['Dead-letter handler errors', ['AWS/Lambda Errors FunctionName=DeadLetterHandler/Function Sum']],
    ['Recovery sweep errors', ['AWS/Lambda Errors FunctionName=RecoverySweep/Function Sum']],
    ['Worker concurrency (instances)', ['AWS/Lambda ConcurrentExecutions FunctionName=TaskWorker/Function Maximum']],
    ['Task throughput by outcome (per minute)', Object.values(TASK_COUNTS).map((name) => task(name, 'Sum'))],
    ['Task duration, one attempt (ms)', [task(TASK_TIMINGS.durationMs, 'p50'), task(TASK_TIMINGS.durationMs, 'p99')]],
    [
      'Queue wait, runnable to first claim (ms)',
      [task(TASK_TIMINGS.queueWaitMs, 'p50'), task(TASK_TIMINGS.queueWaitMs, 'p99')],
    ],
  ])('shows "%s"', (title, lines) => {
    expect(linesOf(title)).toEqual(lines);
  });

  it.each([
    ['Succeeded by task type (per minute)', TASK_COUNTS.succeeded],
    ['Failed by task type (per minute)', TASK_COUNTS.failed],
  ])('breaks "%s" down by the TaskType dimension', (title, name) => {
    expect(linesOf(title)).toEqual([
      `SEARCH('{${METRICS_NAMESPACE},${METRIC_DIMENSIONS.service},${METRIC_DIMENSIONS.taskType}} ` +
        `MetricName="${name}" ${METRIC_DIMENSIONS.service}="${METRICS_SERVICE}"', 'Sum', 60)`,
    ]);
  });

  it('charts every task metric the functions emit', () => {
    const charted = new Set(widgets.flatMap((w) => (w.properties.metrics ?? []).map((line) => line[1])));
    for (const name of [...Object.values(TASK_COUNTS), ...Object.values(TASK_TIMINGS)]) expect(charted).toContain(name);
  });

  it('gives every graph a title and a unit on its axis', () => {
    const graphs = widgets.filter((w) => w.type === 'metric');
    expect(graphs.length).toBeGreaterThanOrEqual(14);
    for (const graph of graphs) {
      expect(graph.properties.title).not.toBe('');
      expect(graph.properties.yAxis?.left?.label).toMatch(/\w/);
    }
  });

  it('shows the state of every alarm', () => {
    expect(widget('Alarms').properties.alarms).toHaveLength(ALARM_COUNT);
  });

  it('charts the throttle events of the table and its owner index', () => {
    expect(linesOf('Table throttle events (per minute)')[0]).toBe(
      'FILL(reads, 0) + FILL(writes, 0) + FILL(indexReads, 0) + FILL(indexWrites, 0)',
    );
  });

  it('outputs DashboardUrl pointing at the dashboard in the CloudWatch console', () => {
    const value = template.findOutputs('DashboardUrl').DashboardUrl?.Value;
    expect(value).toEqual({
      'Fn::Join': [
        '',
        [
          'https://',
          { Ref: 'AWS::Region' },
          '.console.aws.amazon.com/cloudwatch/home?region=',
          { Ref: 'AWS::Region' },
          '#dashboards:name=',
          { Ref: id('Operations/Dashboard') },
        ],
      ],
    });
  });
});

describe('alarms', () => {
  const topic = { Ref: id('Operations/AlarmTopic') };
  const metricStat = (namespace: string, name: string, dimension: string, value: unknown, stat: string) =>
    Match.objectLike({
      MetricStat: Match.objectLike({
        Metric: { Namespace: namespace, MetricName: name, Dimensions: [{ Name: dimension, Value: value }] },
        Stat: stat,
      }),
    });

  it('fires as soon as a message is on the dead-letter queue', () => {
    const queueName = { 'Fn::GetAtt': [id('TaskQueue/DeadLetterQueue'), 'QueueName'] };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [metricStat('AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', queueName, 'Maximum')],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      AlarmActions: [topic],
    });
  });

  it('fires when the oldest message of the quiet owners is older than the threshold: one noisy owner pages nobody', () => {
    const queueName = { 'Fn::GetAtt': [id('TaskQueue/Queue'), 'QueueName'] };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [metricStat('AWS/SQS', 'ApproximateAgeOfOldestMessageInQuietGroups', 'QueueName', queueName, 'Maximum')],
      Threshold: thresholds.oldestMessageAgeSeconds,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: thresholds.evaluationMinutes,
      AlarmActions: [topic],
    });
  });

  it('fires on the worker error rate from settings', () => {
    const worker = { Ref: id('TaskWorker/Function') };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: thresholds.workerErrorRatePercent,
      EvaluationPeriods: thresholds.evaluationMinutes,
      AlarmActions: [topic],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(whole > 0, 100 * part / whole, 0)' }),
        metricStat('AWS/Lambda', 'Errors', 'FunctionName', worker, 'Sum'),
        metricStat('AWS/Lambda', 'Invocations', 'FunctionName', worker, 'Sum'),
      ]),
    });
  });

  it('fires on the API 5xx rate from settings', () => {
    const api = { Ref: id('TaskApi/HttpApi') };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: thresholds.apiServerErrorRatePercent,
      EvaluationPeriods: thresholds.evaluationMinutes,
      AlarmActions: [topic],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(whole > 0, 100 * part / whole, 0)' }),
        metricStat('AWS/ApiGateway', '5xx', 'ApiId', api, 'Sum'),
        metricStat('AWS/ApiGateway', 'Count', 'ApiId', api, 'Sum'),
      ]),
    });
  });

  it('fires when more API requests than the threshold from settings are throttled (429)', () => {
    const api = { Ref: id('TaskApi/HttpApi') };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: thresholds.apiThrottledRatePercent,
      EvaluationPeriods: thresholds.evaluationMinutes,
      AlarmActions: [topic],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(whole > 0, 100 * FILL(part, 0) / whole, 0)' }),
        metricStat(METRICS_NAMESPACE, ACCESS_LOG_METRICS.throttled, METRIC_DIMENSIONS.apiId, api, 'Sum'),
        metricStat('AWS/ApiGateway', 'Count', 'ApiId', api, 'Sum'),
      ]),
    });
  });

  it('counts the 429s from the access log, per API (HTTP APIs publish no throttle metric)', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: id('TaskApi/AccessLogs') },
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [
        {
          MetricNamespace: METRICS_NAMESPACE,
          MetricName: ACCESS_LOG_METRICS.throttled,
          MetricValue: '1',
          Dimensions: [{ Key: METRIC_DIMENSIONS.apiId, Value: '$.apiId' }],
        },
      ],
    });
    const accessLog = template.toJSON().Resources[id('TaskApi/DefaultStage')].Properties.AccessLogSettings;
    expect(JSON.parse(accessLog.Format)).toMatchObject({ status: '$context.status', apiId: '$context.apiId' });
  });

  it('fires when DynamoDB throttles the table or its index more often than the threshold from settings', () => {
    const table = { Ref: id('TaskStore/Table') };
    const throttleEvents = (name: string, index?: string) =>
      Match.objectLike({
        MetricStat: Match.objectLike({
          Metric: {
            Namespace: 'AWS/DynamoDB',
            MetricName: name,
            Dimensions: [
              ...(index ? [{ Name: 'GlobalSecondaryIndexName', Value: index }] : []),
              { Name: 'TableName', Value: table },
            ],
          },
          Stat: 'Sum',
        }),
      });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: thresholds.tableThrottleEventsPerMinute,
      EvaluationPeriods: thresholds.evaluationMinutes,
      AlarmActions: [topic],
      Metrics: Match.arrayWith([
        throttleEvents('ReadThrottleEvents'),
        throttleEvents('WriteThrottleEvents'),
        throttleEvents('ReadThrottleEvents', TASK_TABLE.ownerIndex.name),
        throttleEvents('WriteThrottleEvents', TASK_TABLE.ownerIndex.name),
      ]),
    });
  });

  it.each([
    [
      'the dead-letter handler',
      'DeadLetterHandler/Function',
      thresholds.deadLetterHandlerErrors,
      thresholds.evaluationMinutes,
    ],
    ['the recovery sweep', 'RecoverySweep/Function', thresholds.recoverySweepErrors, settings.recovery.intervalMinutes],
  ])('fires when %s fails more often than the threshold from settings', (_name, path, threshold, minutes) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: threshold,
      EvaluationPeriods: 1,
      AlarmActions: [topic],
      Metrics: [
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'Errors',
              Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(path) } }],
            },
            Period: minutes * 60,
            Stat: 'Sum',
          }),
        }),
      ],
    });
  });

  it('sends every alarm and its recovery to the topic, and only those exist', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(ALARM_COUNT + OTHER_ALARMS + LANE_ALARM_COUNT);
    expect(widget('Lane alarms').properties.alarms).toHaveLength(LANE_ALARM_COUNT);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
    }
  });

  it('encrypts the topic with a rotated key CloudWatch may use, and refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [id('Operations/AlarmTopicKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it.each([
    [{}, 0],
    [{ alarmEmail: 'ops@example.com' }, 1],
  ])('with context %j subscribes %i email address(es)', (context, count) => {
    const synthesized = synthOffloadStack({ context });
    synthesized.template.resourceCountIs('AWS::SNS::Subscription', count);
    if (count) {
      synthesized.template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
      });
    }
  });
});

describe('tracing and logging', () => {
  it('turns on active X-Ray tracing for every function', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const fn of functions) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('sets the Powertools log level of every function from settings', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables.POWERTOOLS_LOG_LEVEL).toBe(settings.observability.logLevel);
    }
  });
});
