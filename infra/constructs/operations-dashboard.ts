import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  ACCESS_LOG_METRICS,
  FAIR_SHARE_COUNTS,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  TASK_COUNTS,
  TASK_TIMINGS,
  type TaskMetricName,
} from '../../shared/metric-names.js';
import { settings as defaultSettings, type Settings } from '../settings.js';
import { grantCloudWatchAlarms } from './encryption-key.js';

export interface OperationsDashboardProps {
  /** The task API whose requests, errors and latency are shown. */
  readonly httpApi: IHttpApi;
  /** The task queue. */
  readonly queue: IQueue;
  /** The task queue's dead-letter queue. */
  readonly deadLetterQueue: IQueue;
  /** The worker Lambda. */
  readonly worker: IFunction;
  /** The dead-letter handler Lambda. */
  readonly deadLetterHandler: IFunction;
  /** The recovery sweep Lambda. */
  readonly recoverySweep: IFunction;
  /**
   * Minutes between recovery sweeps: the sweep alarm's period.
   * @default settings.recovery.intervalMinutes
   */
  readonly recoveryIntervalMinutes?: number;
  /** Name of the task table; its throttle events are charted and alarmed. */
  readonly tableName: string;
  /** Name of the table's owner index. */
  readonly ownerIndexName: string;
  /**
   * The API's access log group. HTTP APIs publish no metric for the requests they throttle, so a metric
   * filter counts the 429s there; each access log line must carry `status` and `apiId`.
   */
  readonly accessLogs: ILogGroup;
  /**
   * Address subscribed to the alarm topic (it must confirm the subscription).
   * @default no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Encrypts the alarm topic.
   * @default a key of the topic's own, which only CloudWatch alarms of this account may use besides the account
   */
  readonly encryptionKey?: IKey;
  /**
   * Alarm thresholds.
   * @default settings.observability.alarms
   */
  readonly thresholds?: Settings['observability']['alarms'];
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
}

const PERIOD = Duration.minutes(1);
const WIDTH = 8;
const HEIGHT = 6;

/**
 * The operator's view: a CloudWatch dashboard (API, queue, worker, table, task metrics) and alarms on
 * the symptoms that need a person, all sent to one SNS topic.
 */
export class OperationsDashboard extends Construct {
  public readonly dashboard: Dashboard;
  public readonly alarmTopic: Topic;
  public readonly alarms: {
    readonly deadLetters: Alarm;
    readonly oldestMessageAge: Alarm;
    readonly workerErrorRate: Alarm;
    readonly apiServerErrorRate: Alarm;
    readonly apiThrottledRate: Alarm;
    readonly tableThrottling: Alarm;
    readonly deadLetterHandlerErrors: Alarm;
    readonly recoverySweepErrors: Alarm;
  };

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const settings = props.settings ?? defaultSettings;
    const thresholds = props.thresholds ?? settings.observability.alarms;

    // CloudWatch cannot publish to a topic under the AWS managed SNS key: it needs a key that trusts it.
    let topicKey = props.encryptionKey;
    if (!topicKey) {
      topicKey = new Key(this, 'AlarmTopicKey', {
        description: 'Encrypts the offload alarm topic',
        enableKeyRotation: true,
      });
      grantCloudWatchAlarms(topicKey);
    }
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'offload alarms',
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    new MetricFilter(this, 'ApiThrottledFilter', {
      logGroup: props.accessLogs,
      filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
      metricNamespace: METRICS_NAMESPACE,
      metricName: ACCESS_LOG_METRICS.throttled,
      metricValue: '1',
      // Per API, so that two stacks in one account and region do not add up.
      dimensions: { [METRIC_DIMENSIONS.apiId]: '$.apiId' },
    });
    const api = {
      requests: props.httpApi.metricCount({ period: PERIOD, statistic: 'Sum', label: 'Requests' }),
      clientErrors: props.httpApi.metricClientError({ period: PERIOD, statistic: 'Sum', label: '4xx' }),
      serverErrors: props.httpApi.metricServerError({ period: PERIOD, statistic: 'Sum', label: '5xx' }),
      throttled: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: ACCESS_LOG_METRICS.throttled,
        dimensionsMap: { [METRIC_DIMENSIONS.apiId]: props.httpApi.apiId },
        period: PERIOD,
        statistic: 'Sum',
        label: '429 (throttled)',
      }),
    };
    const tableThrottleEvents = throttleEventsOf(props.tableName, props.ownerIndexName);
    const evaluationWindow = Duration.minutes(thresholds.evaluationMinutes);
    const sweepInterval = Duration.minutes(props.recoveryIntervalMinutes ?? settings.recovery.intervalMinutes);
    const deadLetterHandlerErrors = props.deadLetterHandler.metricErrors({
      period: evaluationWindow,
      statistic: 'Sum',
      label: 'Dead-letter handler errors',
    });
    const recoverySweepErrors = props.recoverySweep.metricErrors({
      period: sweepInterval,
      statistic: 'Sum',
      label: 'Recovery sweep errors',
    });
    const worker = {
      invocations: props.worker.metricInvocations({ period: PERIOD, statistic: 'Sum', label: 'Invocations' }),
      errors: props.worker.metricErrors({ period: PERIOD, statistic: 'Sum', label: 'Errors' }),
      throttles: props.worker.metricThrottles({ period: PERIOD, statistic: 'Sum', label: 'Throttles' }),
    };
    const deadLetterDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: PERIOD,
      statistic: 'Maximum',
      label: 'Messages on the DLQ',
    });
    const oldestMessageAge = props.queue.metricApproximateAgeOfOldestMessage({
      period: PERIOD,
      statistic: 'Maximum',
      label: 'Oldest message',
    });
    // With fair queues (settings.fairness.fairQueues) SQS also reports the queue without its noisy groups.
    const { fairQueues } = settings.fairness;
    const fairQueueMetric = (metricName: string, label: string) =>
      props.queue.metric(metricName, { period: PERIOD, statistic: 'Maximum', label });
    const quietOldestMessageAge = fairQueueMetric('ApproximateAgeOfOldestMessageInQuietGroups', 'Oldest, quiet owners');
    // One owner's backlog must not page the operator: the alarm watches the owners fair queues serve first.
    const alarmedAge = fairQueues ? quietOldestMessageAge : oldestMessageAge;
    const ownerRateLimited = settings.fairness.submitRate.enabled
      ? taskMetric(FAIR_SHARE_COUNTS.submitRateLimited, 'Sum', 'Submits over an owner’s rate limit')
      : undefined;

    this.alarms = {
      deadLetters: new Alarm(this, 'DeadLettersAlarm', {
        alarmDescription: 'Messages reached the dead-letter queue: their tasks were marked FAILED (DeadLettered).',
        metric: deadLetterDepth,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      oldestMessageAge: new Alarm(this, 'OldestMessageAgeAlarm', {
        alarmDescription: fairQueues
          ? `Tasks of quiet owners wait more than ${thresholds.oldestMessageAgeSeconds} s in the queue: workers are not ` +
            'keeping up with everyone. (A single owner’s backlog shows on the dashboard, it pages nobody.)'
          : `Tasks wait more than ${thresholds.oldestMessageAgeSeconds} s in the queue: workers are not keeping up.`,
        metric: alarmedAge,
        threshold: thresholds.oldestMessageAgeSeconds,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: thresholds.evaluationMinutes,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      workerErrorRate: new Alarm(this, 'WorkerErrorRateAlarm', {
        alarmDescription: `Over ${thresholds.workerErrorRatePercent}% of worker invocations fail (crash, timeout).`,
        metric: percentOf(worker.errors, worker.invocations, 'Worker error rate (%)'),
        threshold: thresholds.workerErrorRatePercent,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: thresholds.evaluationMinutes,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      apiServerErrorRate: new Alarm(this, 'ApiServerErrorRateAlarm', {
        alarmDescription: `Over ${thresholds.apiServerErrorRatePercent}% of API responses are 5xx.`,
        metric: percentOf(api.serverErrors, api.requests, 'API 5xx rate (%)'),
        threshold: thresholds.apiServerErrorRatePercent,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: thresholds.evaluationMinutes,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      apiThrottledRate: new Alarm(this, 'ApiThrottledRateAlarm', {
        alarmDescription:
          `Over ${thresholds.apiThrottledRatePercent}% of API requests are throttled (429): a caller keeps hitting ` +
          'the route limits. The access log names the routes; the API log line with the same requestId, the ownerHash.',
        metric: new MathExpression({
          // No 429 in a minute leaves the filter's metric without a data point: that is 0 %. Submits over an
          // owner's own rate limit are that client's doing: they are taken out, and page nobody.
          expression: ownerRateLimited
            ? 'IF(whole > 0, 100 * IF(FILL(part, 0) > FILL(own, 0), FILL(part, 0) - FILL(own, 0), 0) / whole, 0)'
            : 'IF(whole > 0, 100 * FILL(part, 0) / whole, 0)',
          usingMetrics: {
            part: api.throttled,
            whole: api.requests,
            ...(ownerRateLimited && { own: ownerRateLimited }),
          },
          label: 'API 429 rate (%)',
          period: PERIOD,
        }),
        threshold: thresholds.apiThrottledRatePercent,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: thresholds.evaluationMinutes,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      tableThrottling: new Alarm(this, 'TableThrottlingAlarm', {
        alarmDescription:
          `DynamoDB throttles over ${thresholds.tableThrottleEventsPerMinute} requests a minute on the task table: ` +
          'the on-demand ceilings (settings.store) are reached, and callers get 503.',
        metric: tableThrottleEvents,
        threshold: thresholds.tableThrottleEventsPerMinute,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: thresholds.evaluationMinutes,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      deadLetterHandlerErrors: new Alarm(this, 'DeadLetterHandlerErrorsAlarm', {
        alarmDescription:
          'The dead-letter handler failed (crash, timeout): dead-lettered tasks may stay QUEUED or RUNNING.',
        metric: deadLetterHandlerErrors,
        threshold: thresholds.deadLetterHandlerErrors,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
      recoverySweepErrors: new Alarm(this, 'RecoverySweepErrorsAlarm', {
        alarmDescription: 'A recovery sweep failed with its retries: tasks whose message was lost are not re-enqueued.',
        metric: recoverySweepErrors,
        threshold: thresholds.recoverySweepErrors,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    };
    const action = new SnsAction(this.alarmTopic);
    for (const alarm of Object.values(this.alarms)) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-operations`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      graph('API requests (per minute)', 'Requests', [api.requests]),
      graph('API errors (per minute)', 'Responses', [api.clientErrors, api.serverErrors, api.throttled]),
      graph('API latency (ms)', 'Milliseconds', [
        props.httpApi.metricLatency({ period: PERIOD, statistic: 'p50', label: 'p50' }),
        props.httpApi.metricLatency({ period: PERIOD, statistic: 'p99', label: 'p99' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Task queue (messages)', 'Messages', [
        props.queue.metricApproximateNumberOfMessagesVisible({
          period: PERIOD,
          statistic: 'Maximum',
          label: 'Visible',
        }),
        props.queue.metricApproximateNumberOfMessagesNotVisible({
          period: PERIOD,
          statistic: 'Maximum',
          label: 'In flight',
        }),
      ]),
      graph(
        'Age of oldest message (s)',
        'Seconds',
        fairQueues ? [oldestMessageAge, quietOldestMessageAge] : [oldestMessageAge],
      ),
      graph('Dead-letter queue (messages)', 'Messages', [deadLetterDepth]),
    );
    this.dashboard.addWidgets(
      graph('Worker invocations, errors, throttles (per minute)', 'Invocations', [
        worker.invocations,
        worker.errors,
        worker.throttles,
      ]),
      graph('Worker duration p99 (ms)', 'Milliseconds', [
        props.worker.metricDuration({ period: PERIOD, statistic: 'p99', label: 'p99' }),
      ]),
      graph('Worker concurrency (instances)', 'Instances', [
        props.worker.metric('ConcurrentExecutions', { period: PERIOD, statistic: 'Maximum', label: 'Concurrent' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Table throttle events (per minute)', 'Events', [tableThrottleEvents]),
      graph('Dead-letter handler errors', 'Invocations', [deadLetterHandlerErrors]),
      graph('Recovery sweep errors', 'Invocations', [recoverySweepErrors]),
    );
    const counts: Array<[TaskMetricName, string]> = [
      [TASK_COUNTS.submitted, 'Submitted'],
      [TASK_COUNTS.started, 'Started'],
      [TASK_COUNTS.succeeded, 'Succeeded'],
      [TASK_COUNTS.failed, 'Failed'],
      [TASK_COUNTS.retried, 'Retried'],
      [TASK_COUNTS.cancelled, 'Cancelled'],
      [TASK_COUNTS.deadLettered, 'Dead-lettered'],
    ];
    this.dashboard.addWidgets(
      graph(
        'Task throughput by outcome (per minute)',
        'Tasks',
        counts.map(([name, label]) => taskMetric(name, 'Sum', label)),
      ),
      graph('Task duration, one attempt (ms)', 'Milliseconds', [
        taskMetric(TASK_TIMINGS.durationMs, 'p50', 'p50'),
        taskMetric(TASK_TIMINGS.durationMs, 'p99', 'p99'),
      ]),
      graph('Queue wait, runnable to first claim (ms)', 'Milliseconds', [
        taskMetric(TASK_TIMINGS.queueWaitMs, 'p50', 'p50'),
        taskMetric(TASK_TIMINGS.queueWaitMs, 'p99', 'p99'),
      ]),
    );
    this.dashboard.addWidgets(
      ...(fairQueues
        ? [
            graph('Fair queues: noisy owners (message groups)', 'Groups', [
              fairQueueMetric('ApproximateNumberOfNoisyGroups', 'Noisy groups'),
            ]),
            graph('Fair queues: messages of quiet owners', 'Messages', [
              fairQueueMetric('ApproximateNumberOfMessagesVisibleInQuietGroups', 'Visible'),
              fairQueueMetric('ApproximateNumberOfMessagesNotVisibleInQuietGroups', 'In flight'),
            ]),
          ]
        : []),
      graph('Fair share: waits and refusals (per minute)', 'Events', [
        taskMetric(FAIR_SHARE_COUNTS.ownerSlotWait, 'Sum', 'Waits for an owner’s slot'),
        taskMetric(FAIR_SHARE_COUNTS.submitRateLimited, 'Sum', 'Submits over an owner’s rate limit'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Succeeded by task type (per minute)', 'Tasks', [byTaskType(TASK_COUNTS.succeeded)], 12),
      graph('Failed by task type (per minute)', 'Tasks', [byTaskType(TASK_COUNTS.failed)], 12),
    );
  }

  /** The dashboard in the CloudWatch console. */
  public get url(): string {
    return `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}

/** A task metric over all types: the `[service]` dimension set every EMF line carries. */
function taskMetric(name: TaskMetricName, statistic: string, label: string): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { [METRIC_DIMENSIONS.service]: METRICS_SERVICE },
    statistic,
    period: PERIOD,
    label,
  });
}

/** One line per registered task type; types appear as they are used, without redeploying the dashboard. */
function byTaskType(name: TaskMetricName): MathExpression {
  const schema = `{${METRICS_NAMESPACE},${METRIC_DIMENSIONS.service},${METRIC_DIMENSIONS.taskType}}`;
  return new MathExpression({
    expression: `SEARCH('${schema} MetricName="${name}" ${METRIC_DIMENSIONS.service}="${METRICS_SERVICE}"', 'Sum', ${PERIOD.toSeconds()})`,
    usingMetrics: {},
    label: '',
    period: PERIOD,
  });
}

/** Read and write throttle events of the table and its index, summed: whichever ceiling a caller reaches. */
function throttleEventsOf(tableName: string, indexName: string): MathExpression {
  const event = (metricName: string, index?: string) =>
    new Metric({
      namespace: 'AWS/DynamoDB',
      metricName,
      dimensionsMap: { TableName: tableName, ...(index && { GlobalSecondaryIndexName: index }) },
      statistic: 'Sum',
      period: PERIOD,
    });
  return new MathExpression({
    expression: 'FILL(reads, 0) + FILL(writes, 0) + FILL(indexReads, 0) + FILL(indexWrites, 0)',
    usingMetrics: {
      reads: event('ReadThrottleEvents'),
      writes: event('WriteThrottleEvents'),
      indexReads: event('ReadThrottleEvents', indexName),
      indexWrites: event('WriteThrottleEvents', indexName),
    },
    label: 'Throttle events',
    period: PERIOD,
  });
}

function percentOf(part: IMetric, whole: IMetric, label: string): MathExpression {
  return new MathExpression({
    expression: 'IF(whole > 0, 100 * part / whole, 0)',
    usingMetrics: { part, whole },
    label,
    period: PERIOD,
  });
}

function graph(title: string, unit: string, metrics: IMetric[], width = WIDTH): GraphWidget {
  return new GraphWidget({
    title,
    left: metrics,
    leftYAxis: { label: unit, showUnits: false, min: 0 },
    width,
    height: HEIGHT,
  });
}
