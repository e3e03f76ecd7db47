import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DependencyUnavailableError } from '../errors.js';
import type { EnqueueOutcome, OutgoingMessage, TaskQueue } from '../ports.js';
import type { TaskMessage } from '../task.js';
import { serializeTaskMessage } from '../task-message.js';
import { toDependencyError } from './dependency-error.js';

const DEPENDENCY = 'task queue';

/** SQS takes at most ten entries per SendMessageBatch. */
const BATCH_ENTRIES = 10;

export interface SqsTaskQueueOptions {
  /**
   * Send each message's `group` as its MessageGroupId: on a standard queue that turns on SQS fair
   * queues, which serve the messages of quiet groups (owners) first. @default true
   */
  readonly fairQueues?: boolean;
}

export class SqsTaskQueue implements TaskQueue {
  private readonly fairQueues: boolean;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    options: SqsTaskQueueOptions = {},
  ) {
    this.fairQueues = options.fairQueues ?? true;
  }

  async enqueue(message: TaskMessage, options: { readonly delaySeconds?: number } = {}): Promise<void> {
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: serializeTaskMessage(message),
          DelaySeconds: options.delaySeconds,
          MessageGroupId: this.groupOf(message),
        }),
      );
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  async enqueueBatch(messages: readonly OutgoingMessage[]): Promise<EnqueueOutcome[]> {
    const outcomes: EnqueueOutcome[] = [];
    for (let start = 0; start < messages.length; start += BATCH_ENTRIES) {
      outcomes.push(...(await this.sendChunk(messages.slice(start, start + BATCH_ENTRIES))));
    }
    return outcomes;
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
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  /** One SendMessageBatch: entries SQS refused fail alone; a request that fails as a whole fails them all. */
  private async sendChunk(chunk: readonly OutgoingMessage[]): Promise<EnqueueOutcome[]> {
    try {
      const { Failed = [] } = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map(({ message, delaySeconds }, index) => ({
            Id: String(index),
            MessageBody: serializeTaskMessage(message),
            DelaySeconds: delaySeconds,
            MessageGroupId: this.groupOf(message),
          })),
        }),
      );
      const failed = new Map(Failed.map((entry) => [entry.Id, entry]));
      return chunk.map((_, index) => {
        const entry = failed.get(String(index));
        if (!entry) return { sent: true };
        const cause = new Error(`SendMessageBatch refused the entry: ${entry.Code} ${entry.Message ?? ''}`.trim());
        // A sender fault is a message of ours SQS cannot take: retrying cannot help, so it is no 503.
        return {
          sent: false,
          error: entry.SenderFault ? cause : new DependencyUnavailableError(DEPENDENCY, { cause }),
        };
      });
    } catch (error) {
      const refused = toDependencyError(DEPENDENCY, error);
      return chunk.map(() => ({ sent: false, error: refused }));
    }
  }

  private groupOf(message: TaskMessage): string | undefined {
    return this.fairQueues ? message.group : undefined;
  }
}
