import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  type Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CALLBACK_COUNTS,
  CALLBACK_TIMINGS,
  METRIC_DIMENSIONS,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
} from '../../shared/metric-names.js';
import {
  callbackVisibilityTimeoutSeconds,
  settings as defaultSettings,
  reservedConcurrency,
  type Settings,
} from '../settings.js';
import type { DeploymentKey } from './deployment-key.js';
import { grantSendMessage } from './encryption-key.js';
import { offloadFunction } from './offload-function.js';
import type { TaskTable } from './task-table.js';

export interface CallbackDeliveryProps {
  /** Where deliveries read tasks and record their outcome. */
  readonly store: TaskTable;
  /** Signs the callbacks (each owner's secret is derived from it). */
  readonly deploymentKey: DeploymentKey;
  /**
   * Encrypts both queues and the function's log group.
   * @default SSE-SQS and CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: IKey;
  /**
   * Absolute path of the task module: its task types get their own metric dimension.
   * @default none
   */
  readonly taskModule?: string;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
}

/**
 * Completion callbacks: a delivery queue (with its own dead-letter queue) and the Lambda that POSTs the
 * signed events, so a slow receiver holds up only deliveries, never workers. The function environment
 * comes later ({@link CallbackDelivery.createFunction}): it names the queue, and every function gets it.
 */
export class CallbackDelivery extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public handler?: LambdaFunction;
  public deadLetterAlarm?: Alarm;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: CallbackDeliveryProps,
  ) {
    super(scope, id);
    const c = (props.settings ?? defaultSettings).callbacks;
    const encryption = props.encryptionKey
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: QueueEncryption.SQS_MANAGED };
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(c.deadLetterRetentionDays),
    });
    this.queue = new Queue(this, 'Queue', {
      ...encryption,
      enforceSSL: true,
      // Set, not left to SQS's default: messages must outlive the whole delivery window (validate-settings).
      retentionPeriod: Duration.days(c.retentionDays),
      visibilityTimeout: Duration.seconds(callbackVisibilityTimeoutSeconds(c)),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: c.maxReceiveCount },
    });
  }

  /** Lets a function that ends tasks queue their deliveries (the API, the worker, the dead-letter handler, the sweep). */
  public grantSend(grantee: IGrantable): void {
    grantSendMessage(grantee, [this.queue]);
  }

  /** The delivery Lambda, fed by the delivery queue with partial batch failures. */
  public createFunction(environment: Record<string, string>): LambdaFunction {
    const settings = this.props.settings ?? defaultSettings;
    const c = settings.callbacks;
    const handler = offloadFunction(this, {
      entry: { kind: 'callbacks', taskModule: this.props.taskModule },
      description: 'offload callbacks: POSTs the signed terminal event of tasks submitted with a callbackUrl',
      timeoutSeconds: c.timeoutSeconds,
      memoryMiB: c.memoryMiB,
      environment,
      reservedConcurrency: reservedConcurrency(settings).callbacks,
      logEncryptionKey: this.props.encryptionKey,
    });
    // GetItem: each attempt reads the task; UpdateItem: the fenced record of its outcome.
    this.props.store.grantItemActions(handler, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    this.props.deploymentKey.grantRead(handler);
    // A retry is a new message with a delay; a message that is not due yet waits as invisible.
    this.grantSend(handler);
    this.queue.grant(handler, 'sqs:ChangeMessageVisibility');
    handler.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: c.batchSize,
        maxConcurrency: c.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    this.handler = handler;
    return handler;
  }

  /**
   * The operator's row: delivered, failed and retried callbacks, the delivery latency, the queues; and an
   * alarm on the delivery DLQ (its messages crashed the delivery function `maxReceiveCount` times).
   */
  public addToOperations(dashboard: Dashboard, alarmTopic: ITopic): Alarm {
    const period = Duration.minutes(1);
    const depth = this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period,
      statistic: 'Maximum',
      label: 'Messages on the delivery DLQ',
    });
    const alarm = new Alarm(this, 'DeadLettersAlarm', {
      alarmDescription:
        'Callback deliveries reached the delivery DLQ: the delivery function crashed on them. Their callbacks stay ' +
        'PENDING; the recovery sweep sends them again until the delivery window ends.',
      metric: depth,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.deadLetterAlarm = alarm;

    const metric = (metricName: string, statistic: string, label: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [METRIC_DIMENSIONS.service]: METRICS_SERVICE },
        statistic,
        period,
        label,
      });
    const graph = (title: string, unit: string, metrics: IMetric[]) =>
      new GraphWidget({
        title,
        left: metrics,
        leftYAxis: { label: unit, showUnits: false, min: 0 },
        width: 6,
        height: 6,
      });
    dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Callback alarms', alarms: [alarm], width: 6, height: 6 }),
      graph('Callbacks (per minute)', 'Callbacks', [
        metric(CALLBACK_COUNTS.delivered, 'Sum', 'Delivered'),
        metric(CALLBACK_COUNTS.failed, 'Sum', 'Failed'),
        metric(CALLBACK_COUNTS.retried, 'Sum', 'Retried'),
      ]),
      graph('Callback latency, end of task to 2xx (ms)', 'Milliseconds', [
        metric(CALLBACK_TIMINGS.latencyMs, 'p50', 'p50'),
        metric(CALLBACK_TIMINGS.latencyMs, 'p99', 'p99'),
      ]),
      graph('Delivery queue (messages)', 'Messages', [
        this.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'Visible' }),
        this.queue.metricApproximateNumberOfMessagesNotVisible({ period, statistic: 'Maximum', label: 'Waiting' }),
        depth,
      ]),
    );
    return alarm;
  }
}
