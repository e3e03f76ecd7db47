import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_LANE, DEFAULT_PRIORITY, type LaneTable, type QueueRoute, queueUrlOf } from '../lanes.js';
import type { TaskQueue } from '../ports.js';
import type { TaskMessage } from '../task.js';
import { serializeTaskMessage } from '../task-message.js';
import { toDependencyError } from './dependency-error.js';

export class SqsTaskQueue implements TaskQueue {
  private readonly lanes: LaneTable;

  /**
   * @param queueUrl the default lane's normal queue
   * @param lanes every lane's queues (config `lanes`), by which a message finds its queue
   *   @default the default lane alone, both priorities on `queueUrl`
   */
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    lanes?: LaneTable,
  ) {
    this.lanes = lanes ?? { [DEFAULT_LANE]: { queues: { normal: queueUrl, high: queueUrl }, staleAfterSeconds: 0 } };
  }

  async enqueue(message: TaskMessage, options: { readonly delaySeconds?: number } = {}): Promise<void> {
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.urlOf(message),
          MessageBody: serializeTaskMessage(message),
          DelaySeconds: options.delaySeconds,
        }),
      );
    } catch (error) {
      throw toDependencyError('task queue', error);
    }
  }

  async retryLater(receiptHandle: string, delaySeconds: number, from?: QueueRoute): Promise<void> {
    try {
      await this.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: from ? this.urlOf(from) : this.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: delaySeconds,
        }),
      );
    } catch (error) {
      throw toDependencyError('task queue', error);
    }
  }

  private urlOf(route: { readonly lane?: string; readonly priority?: QueueRoute['priority'] }): string {
    if (route.lane === undefined && route.priority === undefined) return this.queueUrl;
    return queueUrlOf(this.lanes, { lane: route.lane ?? DEFAULT_LANE, priority: route.priority ?? DEFAULT_PRIORITY });
  }
}
