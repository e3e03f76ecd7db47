import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface EventSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly handler: SqsHandler;
  /** Builds the context of one invocation (its clock starts at the call). */
  readonly context: () => Context;
  /**
   * Invocation timeout: past it the batch counts as failed, as when Lambda kills a function. Leave it
   * out when the handler enforces its own (a LocalFunction ends the environment and rejects).
   */
  readonly timeoutMs?: number;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  /** Pollers, hence invocations, running at once. */
  readonly maxConcurrency: number;
  readonly waitTimeSeconds: number;
  readonly onError?: (error: unknown) => void;
  /**
   * Fault injection (chaos runs): when it answers true, the invocation runs but its response is
   * dropped and nothing is deleted, as when a Lambda dies just before returning.
   */
  readonly crashInvocation?: () => boolean;
}

export interface EventSource {
  stop(): Promise<void>;
}

/** SQS allows at most 10 messages per ReceiveMessage. */
const MAX_RECEIVE = 10;

/**
 * Plays the Lambda SQS event source mapping: long-polls, gathers up to `batchSize` records within the
 * batching window, invokes the handler, deletes every record not named in `batchItemFailures`, and
 * leaves the rest to the visibility timeout (and the queue's redrive policy). A thrown error or a
 * timeout fails the whole batch. Written by hand: no library plays the mapping against a local SQS.
 */
export function startEventSource(options: EventSourceOptions): EventSource {
  const abort = new AbortController();
  const pollers = Array.from({ length: options.maxConcurrency }, () => poll(options, abort.signal));
  return {
    async stop() {
      abort.abort();
      await Promise.allSettled(pollers);
    },
  };
}

async function poll(options: EventSourceOptions, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const messages = await receiveBatch(options, signal);
      if (messages.length > 0) await invoke(options, messages);
    } catch (error) {
      if (signal.aborted) return;
      options.onError?.(error);
      // Back off so an unreachable queue does not spin the CPU.
      await sleep(1_000, undefined, { signal }).catch(() => {});
    }
  }
}

async function receiveBatch(options: EventSourceOptions, signal: AbortSignal): Promise<Message[]> {
  const batch = await receive(options, Math.min(MAX_RECEIVE, options.batchSize), options.waitTimeSeconds, signal);
  if (batch.length === 0 || options.maxBatchingWindowSeconds === 0) return batch;
  const windowEnds = Date.now() + options.maxBatchingWindowSeconds * 1000;
  while (batch.length < options.batchSize && Date.now() < windowEnds && !signal.aborted) {
    const wait = Math.max(0, Math.floor((windowEnds - Date.now()) / 1000));
    const more = await receive(options, Math.min(MAX_RECEIVE, options.batchSize - batch.length), wait, signal);
    if (more.length === 0 && wait === 0) break;
    batch.push(...more);
  }
  return batch;
}

async function receive(options: EventSourceOptions, max: number, waitSeconds: number, signal: AbortSignal) {
  const { Messages } = await options.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: options.queueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
    { abortSignal: signal },
  );
  return Messages ?? [];
}

async function invoke(options: EventSourceOptions, messages: Message[]): Promise<void> {
  const records = messages.map((message) => toSqsRecord(message, options.queueArn));
  const invocation = options.handler({ Records: records }, options.context());
  const response = await (options.timeoutMs === undefined
    ? invocation
    : withTimeout(invocation, options.timeoutMs)
  ).catch((error: unknown) => {
    options.onError?.(error);
    return 'failed' as const;
  });
  if (response === 'failed' || options.crashInvocation?.()) return;
  const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
  const done = records.filter((record) => !failed.has(record.messageId));
  if (done.length === 0) return;
  const result = await options.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: options.queueUrl,
      Entries: done.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
    }),
  );
  if (result.Failed?.length)
    options.onError?.(new Error(`DeleteMessageBatch failed for ${result.Failed.length} records`));
}

/** Lambda cannot be killed from here: a timed-out handler keeps running, its outcome ignored, like a frozen sandbox. */
function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Task timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A received message as the mapping hands it to Lambda. */
export function toSqsRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId && { MessageGroupId: attributes.MessageGroupId }),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
  };
}
