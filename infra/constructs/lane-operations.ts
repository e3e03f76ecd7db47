import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  type Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_LANE } from '../../shared/lanes.js';
import { METRIC_DIMENSIONS, METRICS_NAMESPACE, METRICS_SERVICE, TASK_COUNTS } from '../../shared/metric-names.js';
import type { Settings } from '../settings.js';
import type { LaneResources } from './task-lane.js';

export interface LaneOperationsProps {
  /** Every lane, the default one included. */
  readonly lanes: readonly LaneResources[];
  /** Where the lane alarms publish (the operations dashboard's topic). */
  readonly alarmTopic: ITopic;
  /** The dashboard the lane widgets are added to. */
  readonly dashboard: Dashboard;
  readonly settings: Settings;
}

const PERIOD = Duration.minutes(1);

/**
 * The alarms and dashboard rows of the lanes, on each lane's own numbers: its dead-letter queue, the age
 * of the oldest message of each of its queues (past its own threshold: a 15-minute lane's running tasks
 * keep their messages that long), and its worker's error rate. The default lane's normal queue, dead-letter
 * queue and worker are covered by OperationsDashboard, as before lanes; its high-priority queue is here.
 */
export class LaneOperations extends Construct {
  public readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: LaneOperationsProps) {
    super(scope, id);
    const thresholds = props.settings.observability.alarms;
    const alarms: Alarm[] = [];
    // With fair queues, the age among quiet owners: one owner's backlog in a lane pages nobody, as in the default lane.
    const { fairQueues } = props.settings.fairness;
    const oldestAge = (queue: IQueue, label: string) =>
      fairQueues
        ? queue.metric('ApproximateAgeOfOldestMessageInQuietGroups', { period: PERIOD, statistic: 'Maximum', label })
        : queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum', label });

    for (const { lane, queue, highPriorityQueue, deadLetterQueue, worker } of props.lanes) {
      const name = lane.name;
      const prefix = `Lane-${name}-`;
      const queues: Array<[IQueue, string, string]> = [[highPriorityQueue, 'HighPriority', 'high-priority ']];
      if (name !== DEFAULT_LANE) queues.unshift([queue, 'Normal', '']);
      for (const [source, idPart, words] of queues) {
        alarms.push(
          new Alarm(this, `${prefix}${idPart}OldestMessageAgeAlarm`, {
            alarmDescription: `Lane ${name}: ${words}tasks${fairQueues ? ' of quiet owners' : ''} wait more than ${lane.oldestMessageAlarmSeconds} s in the queue: its worker is not keeping up.`,
            metric: oldestAge(source, `Oldest ${words}message${fairQueues ? ', quiet owners' : ''}`),
            threshold: lane.oldestMessageAlarmSeconds,
            comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: thresholds.evaluationMinutes,
            treatMissingData: TreatMissingData.NOT_BREACHING,
          }),
        );
      }
      if (name === DEFAULT_LANE) continue;
      alarms.push(
        new Alarm(this, `${prefix}DeadLettersAlarm`, {
          alarmDescription: `Lane ${name}: messages reached its dead-letter queue: their tasks were marked FAILED (DeadLettered).`,
          metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
        new Alarm(this, `${prefix}WorkerErrorRateAlarm`, {
          alarmDescription: `Lane ${name}: over ${thresholds.workerErrorRatePercent}% of worker invocations fail (crash, timeout).`,
          metric: new MathExpression({
            expression: 'IF(whole > 0, 100 * part / whole, 0)',
            usingMetrics: {
              part: worker.metricErrors({ period: PERIOD, statistic: 'Sum' }),
              whole: worker.metricInvocations({ period: PERIOD, statistic: 'Sum' }),
            },
            label: 'Worker error rate (%)',
            period: PERIOD,
          }),
          threshold: thresholds.workerErrorRatePercent,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: thresholds.evaluationMinutes,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    const action = new SnsAction(props.alarmTopic);
    for (const alarm of alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.alarms = alarms;

    props.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Lane alarms', alarms, width: 24, height: 3 }));
    for (const { lane, queue, highPriorityQueue, worker } of props.lanes) {
      props.dashboard.addWidgets(
        graph(`Lane ${lane.name}: queues (messages)`, 'Messages', [
          queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: 'Normal' }),
          highPriorityQueue.metricApproximateNumberOfMessagesVisible({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'High priority',
          }),
          queue.metricApproximateNumberOfMessagesNotVisible({
            period: PERIOD,
            statistic: 'Maximum',
            label: 'In flight',
          }),
        ]),
        graph(`Lane ${lane.name}: age of oldest message (s)`, 'Seconds', [
          oldestAge(queue, 'Normal'),
          oldestAge(highPriorityQueue, 'High priority'),
        ]),
        graph(
          `Lane ${lane.name}: worker (per minute; concurrency of ${lane.reservedConcurrency} reserved)`,
          'Invocations',
          [
            worker.metricInvocations({ period: PERIOD, statistic: 'Sum', label: 'Invocations' }),
            worker.metricErrors({ period: PERIOD, statistic: 'Sum', label: 'Errors' }),
            worker.metric('ConcurrentExecutions', { period: PERIOD, statistic: 'Maximum', label: 'Concurrent' }),
          ],
        ),
      );
    }
    props.dashboard.addWidgets(
      graph('Succeeded by lane and priority (per minute)', 'Tasks', [byLaneAndPriority(TASK_COUNTS.succeeded)], 12),
      graph('Failed by lane and priority (per minute)', 'Tasks', [byLaneAndPriority(TASK_COUNTS.failed)], 12),
    );
  }
}

/** One line per lane and priority, as the functions record them (`[service, Lane, Priority]`). */
function byLaneAndPriority(name: string): MathExpression {
  const schema = `{${METRICS_NAMESPACE},${METRIC_DIMENSIONS.service},${METRIC_DIMENSIONS.lane},${METRIC_DIMENSIONS.priority}}`;
  return new MathExpression({
    expression: `SEARCH('${schema} MetricName="${name}" ${METRIC_DIMENSIONS.service}="${METRICS_SERVICE}"', 'Sum', ${PERIOD.toSeconds()})`,
    usingMetrics: {},
    label: '',
    period: PERIOD,
  });
}

function graph(title: string, unit: string, metrics: IMetric[], width = 8): GraphWidget {
  return new GraphWidget({
    title,
    left: metrics,
    leftYAxis: { label: unit, showUnits: false, min: 0 },
    width,
    height: 6,
  });
}
