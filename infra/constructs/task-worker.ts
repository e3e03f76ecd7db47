import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { settings as defaultSettings, reservedConcurrency, type Settings } from '../settings.js';
import { offloadFunction } from './offload-function.js';
import type { TaskTable } from './task-table.js';

export interface TaskWorkerProps {
  /** Where the worker claims, updates and completes tasks. */
  readonly store: TaskTable;
  /** The task queue the worker consumes. */
  readonly queue: IQueue;
  /** Environment of the worker Lambda, normally `functionEnvironment(...)`. */
  readonly environment: Record<string, string>;
  /**
   * Absolute path of the task module whose `taskTypes` the worker runs.
   * @default none: only the diagnostic types, if those are on
   */
  readonly taskModule?: string;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
  /**
   * Encrypts the function's log group.
   * @default CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: IKey;
}

/** The Lambda that runs tasks, fed by the task queue in batches with partial batch failures. */
export class TaskWorker extends Construct {
  public readonly handler: LambdaFunction;

  constructor(scope: Construct, id: string, props: TaskWorkerProps) {
    super(scope, id);
    const settings = props.settings ?? defaultSettings;
    const worker = settings.worker;

    this.handler = offloadFunction(this, {
      entry: { kind: 'worker', taskModule: props.taskModule },
      description: 'offload worker: claims and runs queued tasks',
      timeoutSeconds: worker.timeoutSeconds,
      memoryMiB: worker.memoryMiB,
      environment: props.environment,
      // As many as the event source mapping may run: guaranteed, so a busy API cannot starve the worker.
      reservedConcurrency: reservedConcurrency(settings).worker,
      logEncryptionKey: props.encryptionKey,
    });
    // Claim, progress and completion are conditional UpdateItems; GetItem reads a task the claim did not return.
    props.store.grantItemActions(this.handler, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    // A retryable failure delays the message's redelivery (the backoff) instead of sending a new one.
    props.queue.grant(this.handler, 'sqs:ChangeMessageVisibility');
    this.handler.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: worker.batchSize,
        maxBatchingWindow: Duration.seconds(worker.maxBatchingWindowSeconds),
        maxConcurrency: worker.maxConcurrency,
        // Only the failed records come back; the rest of the batch is deleted.
        reportBatchItemFailures: true,
      }),
    );
  }
}
