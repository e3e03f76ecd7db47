import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { serializeCallbackMessage } from '../callbacks/callback-message.js';
import type { BatchingCallbackQueue } from '../callbacks/callback-outbox.js';
import type { CallbackMessage } from '../callbacks/ports.js';
import { toDependencyError } from './dependency-error.js';

/** The callback delivery queue: a message per due delivery, `{taskId}` only. */
export class SqsCallbackQueue implements BatchingCallbackQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(message: CallbackMessage, options: { readonly delaySeconds?: number } = {}): Promise<void> {
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: serializeCallbackMessage(message),
          DelaySeconds: options.delaySeconds,
        }),
      );
    } catch (error) {
      throw toDependencyError('callback queue', error);
    }
  }

  async enqueueBatch(messages: readonly CallbackMessage[]): Promise<readonly CallbackMessage[]> {
    try {
      const { Failed = [] } = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: messages.map((message, index) => ({
            Id: String(index),
            MessageBody: serializeCallbackMessage(message),
          })),
        }),
      );
      return Failed.map((failure) => messages[Number(failure.Id)]).filter(
        (message): message is CallbackMessage => message !== undefined,
      );
    } catch (error) {
      throw toDependencyError('callback queue', error);
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
      throw toDependencyError('callback queue', error);
    }
  }
}
