/** One completion callback on the wire: the signed event, ready to POST. */
export interface CallbackRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What the receiver answered, or why nothing was answered (timeout, refused address, connection error). */
export type CallbackResponse =
  | { readonly kind: 'response'; readonly statusCode: number }
  | { readonly kind: 'error'; readonly reason: string };

/** POSTs callbacks. The HTTP adapter checks the address it connects to; tests record requests. */
export interface CallbackSender {
  send(request: CallbackRequest): Promise<CallbackResponse>;
}

/**
 * The delivery queue's message: which task's callback is due. The task says the rest (which event,
 * how many attempts, when the next is due), so a duplicate message can only repeat an attempt, and the
 * fenced record of it keeps the count right.
 */
export interface CallbackMessage {
  readonly taskId: string;
}

/** The queue that drives deliveries (its own, with its own dead-letter queue). */
export interface CallbackQueue {
  enqueue(message: CallbackMessage, options?: { readonly delaySeconds?: number }): Promise<void>;
  /** Makes a received message visible again after `delaySeconds` (an attempt that is not due yet). */
  retryLater(receiptHandle: string, delaySeconds: number): Promise<void>;
}
