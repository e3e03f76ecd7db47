import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { settings, visibilityTimeoutSeconds } from '../settings.js';

/** The task queue and its dead-letter queue, both encrypted and reachable over TLS only. */
export class TaskQueue extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    const visibilityTimeout = Duration.seconds(visibilityTimeoutSeconds());

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // A message keeps its original enqueue time when moved, so the DLQ must outlive the source queue's retention.
      retentionPeriod: Duration.days(settings.queue.deadLetterRetentionDays),
      // Covers the dead-letter handler's timeout with the same margin the worker gets.
      visibilityTimeout,
    });

    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(settings.queue.retentionDays),
      visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.queue.maxReceiveCount },
    });
  }
}
