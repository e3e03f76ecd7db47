import { DependencyUnavailableError } from '../errors.js';
import type { CallbackMessage, CallbackQueue } from './ports.js';

/** A delivery queue that can send several messages in one request (SQS SendMessageBatch: up to 10). */
export interface BatchingCallbackQueue extends CallbackQueue {
  /** Sends the messages at once; resolves with those that were not sent. */
  enqueueBatch(messages: readonly CallbackMessage[]): Promise<readonly CallbackMessage[]>;
}

/** SQS takes at most 10 messages per batch. */
const MAX_BATCH = 10;

interface Pending {
  readonly message: CallbackMessage;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Coalesces the worker's delivery messages: the records of one batch run at once and usually finish within
 * milliseconds of each other, so their callbacks go out in one SendMessageBatch instead of one request each
 * (SQS bills per request). A message waits at most `lingerMs` for company; each `enqueue` still resolves
 * only once its own message is sent, or rejects if it was not.
 */
export class CallbackOutbox implements CallbackQueue {
  #pending: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: BatchingCallbackQueue,
    private readonly lingerMs: number,
  ) {}

  enqueue(message: CallbackMessage, options: { readonly delaySeconds?: number } = {}): Promise<void> {
    if (options.delaySeconds) return this.queue.enqueue(message, options);
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ message, resolve, reject });
      if (this.#pending.length >= MAX_BATCH) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.lingerMs);
    });
  }

  retryLater(receiptHandle: string, delaySeconds: number): Promise<void> {
    return this.queue.retryLater(receiptHandle, delaySeconds);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending.splice(0, MAX_BATCH);
    if (this.#pending.length > 0) this.#timer = setTimeout(() => this.#flush(), 0);
    this.queue.enqueueBatch(batch.map((entry) => entry.message)).then(
      (failed) => {
        for (const entry of batch) {
          if (failed.includes(entry.message)) entry.reject(new DependencyUnavailableError('callback queue'));
          else entry.resolve();
        }
      },
      (error: unknown) => {
        for (const entry of batch) entry.reject(error);
      },
    );
  }
}
