import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { defaultLaneOf, type Lane } from '../lanes.js';
import { settings as defaultSettings, type Settings } from '../settings.js';

export interface TaskQueueProps {
  /**
   * Encrypts both queues.
   * @default SQS-managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: IKey;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
  /**
   * The lane whose queues these are: its timeout makes their visibility timeout.
   * @default the default lane of `settings`
   */
  readonly lane?: Lane;
}

/**
 * A lane's task queue, its high-priority queue and their dead-letter queue, all encrypted and
 * reachable over TLS only.
 */
export class TaskQueues extends Construct {
  public readonly queue: Queue;
  /** Urgent tasks: the lane's worker reads it through a mapping of its own, so no backlog delays them. */
  public readonly highPriorityQueue: Queue;
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: TaskQueueProps = {}) {
    super(scope, id);
    const settings = props.settings ?? defaultSettings;
    const encryption = props.encryptionKey
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: QueueEncryption.SQS_MANAGED };

    const lane = props.lane ?? defaultLaneOf(settings);
    const visibilityTimeout = Duration.seconds(lane.visibilityTimeoutSeconds);

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      // A message keeps its original enqueue time when moved, so the DLQ must outlive the source queue's retention.
      retentionPeriod: Duration.days(settings.queue.deadLetterRetentionDays),
      // Covers the dead-letter handler's timeout with the same margin the worker gets.
      visibilityTimeout,
    });

    this.queue = new Queue(this, 'Queue', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(settings.queue.retentionDays),
      visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.queue.maxReceiveCount },
    });

    // Same guarantees as the normal queue, and the same dead-letter queue: a dead letter is a dead letter,
    // and the dead-letter handler reads its priority from the message.
    this.highPriorityQueue = new Queue(this, 'HighPriorityQueue', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: Duration.days(settings.queue.retentionDays),
      visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.queue.maxReceiveCount },
    });
  }
}
