import { loadFauxqsModule } from './fauxqs-internals.js';

/**
 * SQS fair queues for fauxqs, which keeps a standard queue in one first-in first-out list and drops the
 * MessageGroupId of messages sent to it. AWS serves a standard queue's messages with a MessageGroupId
 * fairly: a group (tenant) is noisy when it holds more than 10 % of the messages in flight and at least 30
 * of them, or more than 10 % of the consumers' recent processing time; every receive then returns the
 * messages of quiet groups first, and of noisy groups, those with the fewest messages in flight first; a
 * message without a group is a tenant of its own. Here each queue that is not FIFO keeps its messages'
 * groups and, before each receive, moves the quiet groups' messages to the front of its list: the
 * receive, visibility, redrive and deletion stay fauxqs's own.
 *
 * The detection is recomputed at every receive from what is in flight now and the processing time of
 * the last minute, where AWS keeps a tenant noisy until its shares come down: an approximation, close
 * enough to prove a quiet owner is served ahead of a backlog (test/adapters/fair-queues.test.ts) and to
 * measure it (`npm run bench -- --scenario fairness`).
 */

/** A tenant holding more than this share of the in-flight messages, or of recent processing time, may be noisy. */
export const NOISY_SHARE = 0.1;
/** ...and, for the in-flight share, at least this many messages in flight. */
export const NOISY_MIN_IN_FLIGHT = 30;
/** How far back processing time counts. AWS says "recent"; a minute spans many batches of any worker. */
export const PROCESSING_WINDOW_MS = 60_000;

/** The parts of a fauxqs message the fair ordering reads (fauxqs/dist/sqs/sqsStore.js). */
interface FauxqsMessage {
  readonly body: string;
  messageGroupId?: string;
}

interface FauxqsInflight {
  readonly message: FauxqsMessage;
}

/** The parts of a fauxqs queue (SqsQueue) the fair ordering uses. */
interface FauxqsQueue {
  messages: FauxqsMessage[];
  readonly inflightMessages: Map<string, FauxqsInflight>;
  isFifo(): boolean;
  processTimers(): void;
  enqueue(message: FauxqsMessage): void;
  dequeue(max: number, visibility?: number, dlq?: unknown): Array<{ ReceiptHandle: string }>;
  deleteMessage(receiptHandle: string): boolean;
  changeVisibility(receiptHandle: string, seconds: number): void;
}

interface FauxqsStore {
  createQueue(name: string, url: string, arn: string, attributes?: unknown, tags?: unknown): FauxqsQueue;
  getQueue(url: string): FauxqsQueue | undefined;
}

type SendAction = (body: unknown, store: unknown) => unknown;

/** The hooks of the fauxqs app (a Fastify instance) the fair sends need. */
interface FauxqsApp {
  addHook(
    name: 'preHandler',
    hook: (
      request: { readonly headers: Record<string, unknown>; readonly body: unknown },
      reply: FauxqsReply,
    ) => Promise<unknown>,
  ): unknown;
}

interface FauxqsReply {
  status(code: number): FauxqsReply;
  header(name: string, value: string): FauxqsReply;
  send(payload: unknown): FauxqsReply;
}

/** What a fauxqs SqsError carries (fauxqs/dist/common/errors.js), read by shape. */
interface FauxqsError {
  readonly statusCode: number;
  readonly queryErrorHeader: string;
  toJSON(): unknown;
}

/** The fauxqs modules this needs besides its entry point, which exports only `buildApp`. */
export interface FauxqsInternals {
  readonly SqsStore: new () => FauxqsStore;
  readonly sendMessage: SendAction;
  readonly sendMessageBatch: SendAction;
}

/** Loads fauxqs's store and send actions by file: the package exports only its entry point. */
export async function loadFauxqsInternals(): Promise<FauxqsInternals> {
  const [store, single, batch] = await Promise.all([
    loadFauxqsModule<{ SqsStore: FauxqsInternals['SqsStore'] }>('sqs/sqsStore.js'),
    loadFauxqsModule<{ sendMessage: SendAction }>('sqs/actions/sendMessage.js'),
    loadFauxqsModule<{ sendMessageBatch: SendAction }>('sqs/actions/sendMessageBatch.js'),
  ]);
  return { SqsStore: store.SqsStore, sendMessage: single.sendMessage, sendMessageBatch: batch.sendMessageBatch };
}

/**
 * A fauxqs store whose standard queues are fair, and a hook for its app that keeps the MessageGroupId
 * of messages sent to them. Pass `store` to fauxqs's `buildApp({ stores: { sqsStore } })`, then call
 * `install(app)`.
 */
export function fairQueueStore(internals: FauxqsInternals): {
  readonly store: FauxqsStore;
  install(app: FauxqsApp): void;
  /** The fair ordering of a queue by URL, for tests and the console. */
  fairness(queueUrl: string): FairDelivery | undefined;
} {
  const fair = new WeakMap<FauxqsQueue, FairDelivery>();
  class FairSqsStore extends internals.SqsStore {
    override createQueue(name: string, url: string, arn: string, attributes?: unknown, tags?: unknown) {
      const queue = super.createQueue(name, url, arn, attributes, tags);
      if (!queue.isFifo()) fair.set(queue, new FairDelivery(queue));
      return queue;
    }
  }
  const store = new FairSqsStore();
  return {
    store,
    install(app) {
      app.addHook('preHandler', async (request, reply) => {
        const action = String(request.headers['x-amz-target'] ?? '').replace('AmazonSQS.', '');
        if (action !== 'SendMessage' && action !== 'SendMessageBatch') return undefined;
        const body = request.body as SendBody;
        const queue = typeof body?.QueueUrl === 'string' ? store.getQueue(body.QueueUrl) : undefined;
        const delivery = queue && fair.get(queue);
        const entries = action === 'SendMessage' ? [body] : (body.Entries ?? []);
        if (!queue || !delivery || !entries.some((entry) => entry.MessageGroupId)) return undefined;
        // fauxqs's own send, with each message given its entry's group as it is enqueued.
        const send = action === 'SendMessage' ? internals.sendMessage : internals.sendMessageBatch;
        try {
          const result = delivery.withGroups(entries, () => send(body, store));
          return reply.header('content-type', 'application/x-amz-json-1.0').send(result);
        } catch (error) {
          if (!isFauxqsError(error)) throw error;
          return reply
            .status(error.statusCode)
            .header('content-type', 'application/x-amz-json-1.0')
            .header('x-amzn-query-error', error.queryErrorHeader)
            .send(error.toJSON());
        }
      });
    },
    fairness(queueUrl) {
      const queue = store.getQueue(queueUrl);
      return queue && fair.get(queue);
    },
  };
}

interface SendEntry {
  readonly MessageBody?: string;
  readonly MessageGroupId?: string;
}

interface SendBody extends SendEntry {
  readonly QueueUrl?: unknown;
  readonly Entries?: SendEntry[];
}

const isFauxqsError = (error: unknown): error is FauxqsError =>
  typeof (error as FauxqsError | undefined)?.statusCode === 'number' &&
  typeof (error as FauxqsError).toJSON === 'function';

/** A receive of one group's message, until it is deleted or handed back. */
interface Receipt {
  readonly group: string;
  readonly at: number;
}

/** The fair ordering of one standard queue: keeps the groups of its messages and the processing time per group. */
export class FairDelivery {
  readonly #queue: FauxqsQueue;
  readonly #receipts = new Map<string, Receipt>();
  /** Processing time of the last PROCESSING_WINDOW_MS, oldest first. */
  readonly #processed: Array<{ readonly group: string; readonly at: number; readonly ms: number }> = [];
  readonly #processedMs = new Map<string, number>();
  #pending: SendEntry[] = [];

  constructor(queue: FauxqsQueue) {
    this.#queue = queue;
    const enqueue = queue.enqueue.bind(queue);
    const dequeue = queue.dequeue.bind(queue);
    const deleteMessage = queue.deleteMessage.bind(queue);
    const changeVisibility = queue.changeVisibility.bind(queue);
    queue.enqueue = (message) => {
      const entry = this.#takeEntry(message.body);
      if (entry?.MessageGroupId) message.messageGroupId = entry.MessageGroupId;
      enqueue(message);
    };
    queue.dequeue = (max, visibility, dlq) => {
      queue.processTimers();
      this.#putQuietFirst(Date.now());
      const received = dequeue(max, visibility, dlq);
      const now = Date.now();
      for (const message of received) {
        const group = queue.inflightMessages.get(message.ReceiptHandle)?.message.messageGroupId;
        if (group) this.#receipts.set(message.ReceiptHandle, { group, at: now });
      }
      return received;
    };
    queue.deleteMessage = (receiptHandle) => {
      this.#processedUntil(receiptHandle, Date.now());
      return deleteMessage(receiptHandle);
    };
    queue.changeVisibility = (receiptHandle, seconds) => {
      // Handing a message back ends its processing, whatever its new visibility.
      this.#processedUntil(receiptHandle, Date.now());
      changeVisibility(receiptHandle, seconds);
    };
  }

  /** Runs a send (synchronous, as fauxqs's are) whose enqueued messages take the groups of `entries`, in order. */
  withGroups<T>(entries: readonly SendEntry[], send: () => T): T {
    this.#pending = [...entries];
    try {
      return send();
    } finally {
      this.#pending = [];
    }
  }

  /** The groups that are noisy now, with their messages in flight. */
  noisyGroups(now = Date.now()): Map<string, number> {
    const inFlight = new Map<string, number>();
    let total = 0;
    for (const { message } of this.#queue.inflightMessages.values()) {
      total++;
      if (message.messageGroupId) inFlight.set(message.messageGroupId, (inFlight.get(message.messageGroupId) ?? 0) + 1);
    }
    const busy = this.#processingShares(now);
    const noisy = new Map<string, number>();
    for (const group of new Set([...inFlight.keys(), ...busy.keys()])) {
      const count = inFlight.get(group) ?? 0;
      const byConcurrency = count > NOISY_SHARE * total && count >= NOISY_MIN_IN_FLIGHT;
      if (byConcurrency || (busy.get(group) ?? 0) > NOISY_SHARE) noisy.set(group, count);
    }
    return noisy;
  }

  /** Quiet groups' messages (and those without a group) first, in order; then noisy groups, fewest in flight first. */
  #putQuietFirst(now: number): void {
    const noisy = this.noisyGroups(now);
    if (noisy.size === 0) return;
    const quiet: FauxqsMessage[] = [];
    const loud: FauxqsMessage[] = [];
    for (const message of this.#queue.messages) {
      (message.messageGroupId !== undefined && noisy.has(message.messageGroupId) ? loud : quiet).push(message);
    }
    if (loud.length === 0) return;
    const inFlight = (message: FauxqsMessage) => noisy.get(message.messageGroupId ?? '') ?? 0;
    // Array.prototype.sort is stable: each group keeps its order.
    loud.sort((a, b) => inFlight(a) - inFlight(b));
    this.#queue.messages = [...quiet, ...loud];
  }

  /** Each group's share of the processing time of the window, the time of messages in flight included. */
  #processingShares(now: number): Map<string, number> {
    while ((this.#processed[0]?.at ?? now) < now - PROCESSING_WINDOW_MS) {
      const oldest = this.#processed.shift();
      if (oldest) this.#processedMs.set(oldest.group, (this.#processedMs.get(oldest.group) ?? 0) - oldest.ms);
    }
    const ms = new Map(this.#processedMs);
    for (const [receiptHandle, receipt] of this.#receipts) {
      // A receipt whose message came back by its visibility timeout was processed until now.
      if (!this.#queue.inflightMessages.has(receiptHandle)) {
        this.#processedUntil(receiptHandle, now);
        continue;
      }
      ms.set(receipt.group, (ms.get(receipt.group) ?? 0) + (now - receipt.at));
    }
    const total = [...ms.values()].reduce((sum, value) => sum + value, 0);
    return new Map(total > 0 ? [...ms].map(([group, value]) => [group, value / total]) : []);
  }

  #processedUntil(receiptHandle: string, now: number): void {
    const receipt = this.#receipts.get(receiptHandle);
    if (!receipt) return;
    this.#receipts.delete(receiptHandle);
    const ms = now - receipt.at;
    this.#processed.push({ group: receipt.group, at: now, ms });
    this.#processedMs.set(receipt.group, (this.#processedMs.get(receipt.group) ?? 0) + ms);
  }

  /** The next entry of the send in progress with this body: a batch's refused entries are never enqueued. */
  #takeEntry(body: string): SendEntry | undefined {
    const index = this.#pending.findIndex((entry) => entry.MessageBody === body);
    if (index < 0) return undefined;
    const [entry] = this.#pending.splice(0, index + 1).slice(-1);
    return entry;
  }
}
