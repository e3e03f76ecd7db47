import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { defaultLaneOf, type Lane } from '../lanes.js';
import { settings as defaultSettings, type Settings } from '../settings.js';
import { offloadFunction } from './offload-function.js';
import type { TaskTable } from './task-table.js';

export interface TaskWorkerProps {
  /** Where the worker claims, updates and completes tasks. */
  readonly store: TaskTable;
  /** The task queue the worker consumes. */
  readonly queue: IQueue;
  /**
   * The lane's high-priority queue, consumed through a mapping of its own with the lane's
   * `highPriorityConcurrency`, reserved on top of the normal mapping's.
   * @default none: the worker reads `queue` alone
   */
  readonly highPriorityQueue?: IQueue;
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
   * The lane the worker serves: its timeout, memory, batches and concurrency.
   * @default the default lane of `settings` (`settings.worker`)
   */
  readonly lane?: Lane;
  /**
   * Encrypts the function's log group.
   * @default CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: IKey;
}

/** The Lambda that runs a lane's tasks, fed by its queues in batches with partial batch failures. */
export class TaskWorker extends Construct {
  public readonly handler: LambdaFunction;

  constructor(scope: Construct, id: string, props: TaskWorkerProps) {
    super(scope, id);
    const settings = props.settings ?? defaultSettings;
    const lane = props.lane ?? defaultLaneOf(settings);

    this.handler = offloadFunction(this, {
      entry: { kind: 'worker', taskModule: props.taskModule },
      description:
        lane.name === defaultLaneOf(settings).name
          ? 'offload worker: claims and runs queued tasks'
          : `offload worker of lane ${lane.name}: claims and runs its queued tasks`,
      timeoutSeconds: lane.timeoutSeconds,
      memoryMiB: lane.memoryMiB,
      environment: props.environment,
      // As many as both event source mappings may run: guaranteed, so a busy API cannot starve the worker,
      // and a backlog on one queue cannot throttle the other's mapping.
      reservedConcurrency: props.highPriorityQueue ? lane.reservedConcurrency : lane.normalConcurrency,
      logEncryptionKey: props.encryptionKey,
    });
    // Claim, progress and completion are conditional UpdateItems; GetItem reads a task the claim did not return.
    props.store.grantItemActions(this.handler, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    // A retryable failure delays the message's redelivery (the backoff) instead of sending a new one.
    props.queue.grant(this.handler, 'sqs:ChangeMessageVisibility');
    this.handler.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: lane.batchSize,
        maxBatchingWindow: Duration.seconds(lane.maxBatchingWindowSeconds),
        // Standard scaling with a ceiling, or provisioned pollers: AWS takes one or the other.
        ...(lane.scaling.mode === 'standard'
          ? { maxConcurrency: lane.scaling.maxConcurrency }
          : {
              provisionedPollerConfig: {
                minimumPollers: lane.scaling.minimumPollers,
                maximumPollers: lane.scaling.maximumPollers,
              },
            }),
        // Only the failed records come back; the rest of the batch is deleted.
        reportBatchItemFailures: true,
      }),
    );
    if (props.highPriorityQueue) {
      // The mapping's consume grant includes ChangeMessageVisibility, which a delayed retry needs.
      this.handler.addEventSource(
        new SqsEventSource(props.highPriorityQueue, {
          // Urgent work is never held back to fill a batch.
          batchSize: lane.highPriorityBatchSize,
          maxBatchingWindow: Duration.seconds(0),
          maxConcurrency: lane.highPriorityConcurrency,
          reportBatchItemFailures: true,
        }),
      );
    }
  }
}
