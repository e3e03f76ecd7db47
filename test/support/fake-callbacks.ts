import type {
  CallbackMessage,
  CallbackQueue,
  CallbackRequest,
  CallbackResponse,
  CallbackSender,
} from '../../shared/callbacks/ports.js';

/** CallbackQueue that records what was sent; a failed call records nothing. */
export class FakeCallbackQueue implements CallbackQueue {
  readonly enqueued: { message: CallbackMessage; delaySeconds?: number }[] = [];
  readonly retries: { receiptHandle: string; delaySeconds: number }[] = [];
  private failures: unknown[] = [];

  /** The next enqueue throws `error`. */
  failNextEnqueue(error: unknown): this {
    this.failures.push(error);
    return this;
  }

  async enqueue(message: CallbackMessage, options: { readonly delaySeconds?: number } = {}): Promise<void> {
    if (this.failures.length > 0) throw this.failures.shift();
    this.enqueued.push({
      message: { ...message },
      ...(options.delaySeconds !== undefined && { delaySeconds: options.delaySeconds }),
    });
  }

  async retryLater(receiptHandle: string, delaySeconds: number): Promise<void> {
    this.retries.push({ receiptHandle, delaySeconds });
  }
}

/** CallbackSender that answers from a script (204 once it is spent) and keeps every request. */
export class ScriptedSender implements CallbackSender {
  readonly requests: CallbackRequest[] = [];

  constructor(private readonly answers: CallbackResponse[] = []) {}

  async send(request: CallbackRequest): Promise<CallbackResponse> {
    this.requests.push(request);
    return this.answers.shift() ?? { kind: 'response', statusCode: 204 };
  }
}
