import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { TaskQueue } from '../ports.js';
import type { TaskMessage } from '../task.js';
import { serializeTaskMessage } from '../task-message.js';
import { toDependencyError } from './dependency-error.js';

export class SqsTaskQueue implements TaskQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(message: TaskMessage, options: { readonly delaySeconds?: number } = {}): Promise<void> {
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: serializeTaskMessage(message),
          DelaySeconds: options.delaySeconds,
        }),
      );
    } catch (error) {
      throw toDependencyError('task queue', error);
    }
  }

  async retryLater(receiptHandle: string, delaySeconds: number): Promise<void> {
    try {
      await this.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: delaySeconds,
        }),
      );
    } catch (error) {
      throw toDependencyError('task queue', error);
    }
  }
}
