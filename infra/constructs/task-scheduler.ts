import { Arn, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type SchedulerResources, schedulerEnvironment } from '../function-environment.js';
import { settings as defaultSettings, reservedConcurrency, type Settings } from '../settings.js';
import { grantSendMessage } from './encryption-key.js';
import { offloadFunction } from './offload-function.js';
import type { ScheduleStore } from './schedule-store.js';
import type { TaskTable } from './task-table.js';

export interface TaskSchedulerProps {
  /** Where firings record their tasks. */
  readonly store: TaskTable;
  /** What a firing reads the schedule's task from. */
  readonly schedules: ScheduleStore;
  /** Where firings enqueue tasks. */
  readonly queue: IQueue;
  /** Environment of the fire function, normally `functionEnvironment(...)`. */
  readonly environment: Record<string, string>;
  /**
   * Encrypts the dead-letter queue and the function's log group.
   * @default SQS-managed encryption; CloudWatch Logs' own
   */
  readonly encryptionKey?: IKey;
  /**
   * Absolute path of the task module whose `taskTypes` firings submit.
   * @default none: only the diagnostic types, if those are on
   */
  readonly taskModule?: string;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
}

/**
 * Schedules on EventBridge Scheduler: the deployment's schedule group, the fire function every schedule
 * invokes (with the schedule's input), the role Scheduler assumes to invoke it, and one dead-letter
 * queue for firings that failed: those Scheduler could not deliver after its retries, and those the
 * function failed after Lambda's async retries.
 */
export class TaskScheduler extends Construct {
  public readonly group: ScheduleGroup;
  public readonly handler: LambdaFunction;
  /** The role Scheduler assumes: it may invoke the fire function and send to the dead-letter queue, nothing else. */
  public readonly role: Role;
  public readonly deadLetterQueue: Queue;
  private readonly settings: Settings;

  constructor(scope: Construct, id: string, props: TaskSchedulerProps) {
    super(scope, id);
    const settings = props.settings ?? defaultSettings;
    this.settings = settings;
    const s = settings.schedules;

    // Destroyed with the stack: schedules in a retained group would keep firing at a function that is gone.
    this.group = new ScheduleGroup(this, 'Group', { removalPolicy: RemovalPolicy.DESTROY });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...(props.encryptionKey
        ? { encryption: QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
        : { encryption: QueueEncryption.SQS_MANAGED }),
      enforceSSL: true,
      retentionPeriod: Duration.days(s.deadLetterRetentionDays),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'It is a dead-letter queue itself: of Scheduler firings and of the fire function (an on-failure destination).',
    });

    this.handler = offloadFunction(this, {
      entry: { kind: 'schedule-fire', taskModule: props.taskModule },
      description: 'offload schedule firings: submits a schedule task, or enqueues a task whose runAt came',
      timeoutSeconds: s.fire.timeoutSeconds,
      memoryMiB: s.fire.memoryMiB,
      environment: props.environment,
      reservedConcurrency: reservedConcurrency(settings).scheduleFire,
      logEncryptionKey: props.encryptionKey,
    });
    // The submit core: put the task, take it back if the send fails, mark a replay, read it back; runAt reads it.
    props.store.grantItemActions(
      this.handler,
      'dynamodb:PutItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    props.schedules.grantItemActions(this.handler, 'dynamodb:GetItem');
    grantSendMessage(this.handler, [props.queue]);
    // Scheduler invokes asynchronously: Lambda retries a failed firing twice, then hands it to the queue.
    // Not SqsDestination: its grant would add KMS wildcards (ReEncrypt*, GenerateDataKey*) under a customer key.
    const deadLetterQueue = this.deadLetterQueue;
    this.handler.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: { bind: () => ({ destination: deadLetterQueue.queueArn }) },
    });
    deadLetterQueue.grant(this.handler, 'sqs:SendMessage');
    props.encryptionKey?.grant(this.handler, 'kms:GenerateDataKey', 'kms:Decrypt');

    const stack = Stack.of(this);
    this.role = new Role(this, 'SchedulerRole', {
      description: 'Assumed by EventBridge Scheduler for the offload schedules: invokes the fire function only',
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        // Only schedules of this account's group may use it (confused-deputy guard).
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnEquals: { 'aws:SourceArn': this.group.scheduleGroupArn },
        },
      }),
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.handler.functionArn] }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );
    props.encryptionKey?.grant(this.role, 'kms:GenerateDataKey', 'kms:Decrypt');
  }

  /** What the API needs to know to put schedules into the group (see `schedulerEnvironment`). */
  public get resources(): SchedulerResources {
    return {
      groupName: this.group.scheduleGroupName,
      targetArn: this.handler.functionArn,
      roleArn: this.role.roleArn,
      deadLetterQueueArn: this.deadLetterQueue.queueArn,
    };
  }

  /** The API's extra environment: group, target, role, dead-letter queue, retry policy. */
  public apiEnvironment(): Record<string, string> {
    return schedulerEnvironment(this.resources, this.settings);
  }

  /**
   * Lets `grantee` (the API) create, change and delete schedules in this group, and hand Scheduler the
   * role: no other group, no other role, no reading of other schedules.
   */
  public grantManageSchedules(grantee: IGrantable): void {
    const stack = Stack.of(this);
    const groupName = stack.resolve(this.group.scheduleGroupName) as string;
    const scheduleArns = Arn.format(
      { service: 'scheduler', resource: 'schedule', resourceName: `${groupName}/*` },
      stack,
    );
    Validations.of(grantee.grantPrincipal as unknown as Construct).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${groupName}/*]`,
      reason:
        'Schedule names are made at run time (a hash of owner and name, or the task id): every schedule of this group, and of no other.',
    });
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
        resources: [scheduleArns],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }

  /** Pages when a firing failed for good: a schedule's task was not submitted, or a runAt task not enqueued. */
  public addAlarms(topic: ITopic): Alarm {
    const alarm = new Alarm(this, 'FailedFiringsAlarm', {
      alarmDescription:
        'Schedule firings failed: a schedule submitted no task, or a runAt task was not enqueued (the recovery sweep re-enqueues those later).',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    return alarm;
  }
}
