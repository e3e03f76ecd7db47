import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { settings as defaultSettings, type Settings, visibilityTimeoutSeconds } from '../settings.js';

export interface TaskQueueProps {
  /**
   * Encrypts both queues.
   * @default SQS-managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: IKey;
  /** @default the defaults of infra/settings.ts */
  readonly settings?: Settings;
}

/** The task queue and its dead-letter queue, both encrypted and reachable over TLS only. */
export class TaskQueues extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: TaskQueueProps = {}) {
    super(scope, id);
    const settings = props.settings ?? defaultSettings;
    const encryption = props.encryptionKey
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: QueueEncryption.SQS_MANAGED };

    const visibilityTimeout = Duration.seconds(visibilityTimeoutSeconds(settings.worker));

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
  }
}
