import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DependencyUnavailableError } from '../errors.js';
import { DEFAULT_LANE, DEFAULT_PRIORITY, type LaneTable, type QueueRoute, queueUrlOf } from '../lanes.js';
import type { EnqueueOutcome, OutgoingMessage, TaskQueue } from '../ports.js';
import type { TaskMessage } from '../task.js';
import { serializeTaskMessage } from '../task-message.js';
import { toDependencyError } from './dependency-error.js';

const DEPENDENCY = 'task queue';

/** SQS takes at most ten entries per SendMessageBatch. */
const BATCH_ENTRIES = 10;

export interface SqsTaskQueueOptions {
  /**
   * Every lane's queues (config `lanes`), by which a message finds its queue.
   * @default the default lane alone, both priorities on the queue URL given
   */
  readonly lanes?: LaneTable;
  /**
   * Send each message's `group` as its MessageGroupId: on a standard queue that turns on SQS fair
   * queues, which serve the messages of quiet groups (owners) first. @default true
   */
  readonly fairQueues?: boolean;
}

export class SqsTaskQueue implements TaskQueue {
  private readonly lanes: LaneTable;
  private readonly fairQueues: boolean;

  /** @param queueUrl the default lane's normal queue */
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    options: SqsTaskQueueOptions = {},
  ) {
    this.lanes = options.lanes ?? {
      [DEFAULT_LANE]: { queues: { normal: queueUrl, high: queueUrl }, staleAfterSeconds: 0 },
    };
    this.fairQueues = options.fairQueues ?? true;
  }

  async enqueue(message: TaskMessage, options: { readonly delaySeconds?: number } = {}): Promise<void> {
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.urlOf(message),
          MessageBody: serializeTaskMessage(message),
          DelaySeconds: options.delaySeconds,
          MessageGroupId: this.groupOf(message),
        }),
      );
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  /** In tens per queue (a batch may span lanes and priorities); outcomes in the order given. */
  async enqueueBatch(messages: readonly OutgoingMessage[]): Promise<EnqueueOutcome[]> {
    const byQueue = new Map<string, number[]>();
    messages.forEach((outgoing, index) => {
      const url = this.urlOf(outgoing.message);
      byQueue.set(url, [...(byQueue.get(url) ?? []), index]);
    });
    const outcomes: EnqueueOutcome[] = new Array(messages.length);
    for (const [url, indexes] of byQueue) {
      for (let start = 0; start < indexes.length; start += BATCH_ENTRIES) {
        const chunk = indexes.slice(start, start + BATCH_ENTRIES);
        const sent = await this.sendChunk(
          url,
          chunk.map((index) => messages[index] as OutgoingMessage),
        );
        chunk.forEach((index, offset) => {
          outcomes[index] = sent[offset] as EnqueueOutcome;
        });
      }
    }
    return outcomes;
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
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  /** One SendMessageBatch: entries SQS refused fail alone; a request that fails as a whole fails them all. */
  private async sendChunk(queueUrl: string, chunk: readonly OutgoingMessage[]): Promise<EnqueueOutcome[]> {
    try {
      const { Failed = [] } = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
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

  private urlOf(route: { readonly lane?: string; readonly priority?: QueueRoute['priority'] }): string {
    if (route.lane === undefined && route.priority === undefined) return this.queueUrl;
    return queueUrlOf(this.lanes, { lane: route.lane ?? DEFAULT_LANE, priority: route.priority ?? DEFAULT_PRIORITY });
  }

  private groupOf(message: TaskMessage): string | undefined {
    return this.fairQueues ? message.group : undefined;
  }
}
