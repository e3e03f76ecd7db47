import type { QueueRoute } from '../../shared/lanes.js';
import type { TaskQueue } from '../../shared/ports.js';
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

type TaskQueueMethod = keyof TaskQueue;

/** TaskQueue that records what was sent; a failed call records nothing, as SQS would hold nothing. */
export class FakeTaskQueue implements TaskQueue {
  readonly enqueued: EnqueueCall[] = [];
  readonly retries: RetryLaterCall[] = [];
  private readonly failures = new Map<TaskQueueMethod, unknown[]>();

  /** The next call of `method` throws `error` (queued: call again to fail several calls in a row). */
  failNext(method: TaskQueueMethod, error: unknown): this {
    this.failures.set(method, [...(this.failures.get(method) ?? []), error]);
    return this;
  }

  async enqueue(message: TaskMessage, options?: { readonly delaySeconds?: number }): Promise<void> {
    this.throwInjected('enqueue');
    this.enqueued.push({ message: structuredClone(message), ...(options && { options: { ...options } }) });
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
