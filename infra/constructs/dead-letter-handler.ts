import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { settings as defaultSettings, reservedConcurrency, type Settings } from '../settings.js';
import { offloadFunction } from './offload-function.js';
import type { TaskTable } from './task-table.js';

export interface DeadLetterHandlerProps {
  /** Where dead-lettered tasks are marked FAILED. */
  readonly store: TaskTable;
  /** The dead-letter queue of the task queue. */
  readonly deadLetterQueue: IQueue;
  /**
   * The dead-letter queues of the other lanes, each read through a mapping of its own.
   * @default none
   */
  readonly additionalDeadLetterQueues?: readonly IQueue[];
  /** Environment of the Lambda, normally `functionEnvironment(...)`. */
  readonly environment: Record<string, string>;
  /**
   * Absolute path of the task module: its task types get their own metric dimension.
   * @default none
   */
  readonly taskModule?: string;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
  /**
   * Lambda timeout in seconds; must stay within the dead-letter queue's visibility timeout.
   * @default settings.dlq.timeoutSeconds
   */
  readonly timeoutSeconds?: number;
  /**
   * Lambda memory in MiB.
   * @default settings.dlq.memoryMiB
   */
  readonly memoryMiB?: number;
  /**
   * Encrypts the function's log group.
   * @default CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: IKey;
}

/** Marks the tasks whose messages reached the dead-letter queue FAILED, so none stays QUEUED or RUNNING. */
export class DeadLetterHandler extends Construct {
  public readonly handler: LambdaFunction;

  constructor(scope: Construct, id: string, props: DeadLetterHandlerProps) {
    super(scope, id);
    const settings = props.settings ?? defaultSettings;

    this.handler = offloadFunction(this, {
      entry: { kind: 'dead-letter', taskModule: props.taskModule },
      description: 'offload dead-letter handler: marks dead-lettered tasks FAILED',
      timeoutSeconds: props.timeoutSeconds ?? settings.dlq.timeoutSeconds,
      memoryMiB: props.memoryMiB ?? settings.dlq.memoryMiB,
      environment: props.environment,
      reservedConcurrency: reservedConcurrency(settings).deadLetter,
      logEncryptionKey: props.encryptionKey,
    });
    props.store.grantItemActions(this.handler, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    for (const queue of [props.deadLetterQueue, ...(props.additionalDeadLetterQueues ?? [])]) {
      this.handler.addEventSource(
        new SqsEventSource(queue, {
          batchSize: settings.dlq.batchSize,
          // Within the reservation: a mapping allowed more than the function may run would be throttled.
          maxConcurrency: settings.dlq.maxConcurrency,
          reportBatchItemFailures: true,
        }),
      );
    }
  }
}
