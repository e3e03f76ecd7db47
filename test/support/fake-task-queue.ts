import type { QueueRoute } from '../../shared/lanes.js';
import type { EnqueueOutcome, OutgoingMessage, TaskQueue } from '../../shared/ports.js';
import type { TaskMessage } from '../../shared/task.js';

export interface EnqueueCall {
  readonly message: TaskMessage;
  readonly options?: { readonly delaySeconds?: number };
}

export interface RetryLaterCall {
  readonly receiptHandle: string;
  readonly delaySeconds: number;
  /** The queue named, when one is. */
  readonly from?: QueueRoute;
}

type TaskQueueMethod = keyof Required<TaskQueue>;

/** TaskQueue that records what was sent; a failed call records nothing, as SQS would hold nothing. */
export class FakeTaskQueue implements TaskQueue {
  readonly enqueued: EnqueueCall[] = [];
  readonly retries: RetryLaterCall[] = [];
  /** The sizes of the batch sends, each message also in `enqueued` once sent. */
  readonly batches: OutgoingMessage[][] = [];
  private readonly failures = new Map<TaskQueueMethod, unknown[]>();
  private readonly entryFailures = new Map<number, Error>();

  /** The next call of `method` throws `error` (queued: call again to fail several calls in a row). */
  failNext(method: TaskQueueMethod, error: unknown): this {
    this.failures.set(method, [...(this.failures.get(method) ?? []), error]);
    return this;
  }

  async enqueue(message: TaskMessage, options?: { readonly delaySeconds?: number }): Promise<void> {
    this.throwInjected('enqueue');
    this.enqueued.push({ message: structuredClone(message), ...(options && { options: { ...options } }) });
  }

  /** The entry at `index` of the next batch send is refused with `error`; the others go through. */
  failNextBatchEntry(index: number, error: Error): this {
    this.entryFailures.set(index, error);
    return this;
  }

  async enqueueBatch(messages: readonly OutgoingMessage[]): Promise<EnqueueOutcome[]> {
    this.throwInjected('enqueueBatch');
    this.batches.push([]);
    for (let start = 0; start < messages.length; start += 10) {
      if (start > 0) this.batches.push([]);
      this.batches.at(-1)?.push(...messages.slice(start, start + 10));
    }
    const outcomes = messages.map((outgoing, index): EnqueueOutcome => {
      const error = this.entryFailures.get(index);
      if (error) return { sent: false, error };
      const { message, delaySeconds } = outgoing;
      this.enqueued.push({ message: structuredClone(message), options: { delaySeconds } });
      return { sent: true };
    });
    this.entryFailures.clear();
    return outcomes;
  }

  async retryLater(receiptHandle: string, delaySeconds: number, from?: QueueRoute): Promise<void> {
    this.throwInjected('retryLater');
    this.retries.push({ receiptHandle, delaySeconds, ...(from && { from }) });
  }

  private throwInjected(method: TaskQueueMethod): void {
    const pending = this.failures.get(method);
    if (pending?.length) throw pending.shift();
  }
}
