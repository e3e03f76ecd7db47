import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SdkClientOrigin } from '../shared/aws/clients.js';
import { isClaimUpdate } from '../shared/aws/dynamo-task-store.js';
import { dynamoItemSize } from '../shared/item-size.js';

/** `function` (the handlers), `local-stack` (the mapping poller) or `bench` (the bare and ceiling calls). */
export type CallOrigin = SdkClientOrigin | 'bench';

/** Counts of one window, keyed `origin service operation` (SQS operations carry the queue name). */
export type CallCounts = Record<string, number>;

type AttributeMap = Record<string, Record<string, unknown>>;

interface Observed {
  readonly input: Record<string, unknown>;
  readonly output: Record<string, unknown> | undefined;
}

/**
 * Middleware that counts every request an SDK client sends, per origin, service and operation,
 * attached through the `onSdkClientCreated` seam of shared/aws/clients.ts. It runs in the
 * deserialize step, inside the retry loop, so a retried call counts once per attempt as AWS bills it.
 */
export class SdkCallCounter {
  private readonly counts = new Map<string, number>();
  /** Item sizes (DynamoDB rules) seen per stage of a task's life. */
  readonly itemBytes = { queued: [] as number[], running: [] as number[], finished: [] as number[] };
  /** Claim sent → SUCCEEDED write returned, per task: what a one-record worker invocation spends on its task. */
  readonly claimToFinishMs: number[] = [];
  private readonly claimSentAt = new Map<string, number>();
  /** Called when a finishing UpdateItem that sets SUCCEEDED has returned: the task is visible as done. */
  onSucceeded: (taskId: string, at: number) => void = () => {};
  /** Called with the number of messages a DeleteMessageBatch removed from the tasks queue. */
  onDeleted: (count: number) => void = () => {};
  /** A callback delivery's read sent → its record returned, per delivery (the delivery function's own time). */
  readonly deliveryMs: number[] = [];
  private readonly deliveryReadAt = new Map<string, number>();
  /** Item sizes seen by callback deliveries (the finished item with its callback). */
  readonly callbackItemBytes: number[] = [];

  attach(client: DynamoDBClient | SQSClient | S3Client, origin: CallOrigin): void {
    const stack = client.middlewareStack as DynamoDBClient['middlewareStack'];
    stack.add(
      (next, context) => async (args) => {
        const service = SERVICES[String(context.clientName)] ?? String(context.clientName);
        const input = (args.input ?? {}) as Record<string, unknown>;
        // The delivery function's record of a callback, told apart from the worker's writes.
        const operation =
          String(context.commandName).replace(/Command$/, '') + (isCallbackRecord(input) ? '(callback)' : '');
        const queue = typeof input.QueueUrl === 'string' ? ` ${input.QueueUrl.split('/').pop()}` : '';
        this.add(`${origin} ${service} ${operation}${queue}`);
        if (origin === 'function' && operation === 'UpdateItem' && isClaimUpdate(input)) {
          this.claimSentAt.set(keyOf(input), performance.now());
        }
        if (origin === 'function' && operation === 'GetItem') this.deliveryReadAt.set(keyOf(input), performance.now());
        const result = await next(args);
        this.observe(origin, operation, { input, output: result.output as Record<string, unknown> | undefined });
        return result;
      },
      { step: 'deserialize', priority: 'high', name: 'benchSdkCallCounter' },
    );
  }

  snapshot(): CallCounts {
    return Object.fromEntries(this.counts);
  }

  /** Counts made since `before` (a snapshot). */
  since(before: CallCounts): CallCounts {
    const delta: CallCounts = {};
    for (const [key, value] of this.counts) {
      const d = value - (before[key] ?? 0);
      if (d > 0) delta[key] = d;
    }
    return delta;
  }

  private add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  private observe(origin: CallOrigin, operation: string, { input, output }: Observed): void {
    if (operation === 'ReceiveMessage') {
      const queue = String(input.QueueUrl).split('/').pop();
      const received = (output?.Messages as unknown[] | undefined)?.length ?? 0;
      if (received === 0) this.add(`${origin} SQS ReceiveMessage(empty) ${queue}`);
      else this.add(`${origin} SQS ReceivedMessages ${queue}`, received);
      return;
    }
    if (operation === 'DeleteMessageBatch' && origin === 'local-stack' && !/[-_]dlq$/.test(String(input.QueueUrl))) {
      const entries = (input.Entries as unknown[] | undefined)?.length ?? 0;
      this.onDeleted(entries - ((output?.Failed as unknown[] | undefined)?.length ?? 0));
      return;
    }
    if (origin !== 'function') return;
    if (operation === 'UpdateItem(callback)') {
      const readAt = this.deliveryReadAt.get(keyOf(input));
      this.deliveryReadAt.delete(keyOf(input));
      if (readAt !== undefined) this.deliveryMs.push(performance.now() - readAt);
      return;
    }
    if (operation === 'GetItem') {
      // Only callback deliveries read by GetItem here (the API's reads are owner-scoped Queries).
      if (output?.Item) this.callbackItemBytes.push(dynamoItemBytes(output.Item as AttributeMap));
      return;
    }
    if (operation === 'PutItem') this.itemBytes.queued.push(dynamoItemBytes(input.Item as AttributeMap));
    const read = operation === 'Query' ? (output?.Items as unknown[])?.[0] : undefined;
    if (read) this.itemBytes.finished.push(dynamoItemBytes(read as AttributeMap));
    if (operation === 'UpdateItem') {
      const values = input.ExpressionAttributeValues as AttributeMap | undefined;
      if (output?.Attributes && isClaimUpdate(input))
        this.itemBytes.running.push(dynamoItemBytes(output.Attributes as AttributeMap));
      if (values?.[':status']?.S === 'SUCCEEDED') {
        const taskId = keyOf(input);
        const now = performance.now();
        const claimedAt = this.claimSentAt.get(taskId);
        this.claimSentAt.delete(taskId);
        if (claimedAt !== undefined) this.claimToFinishMs.push(now - claimedAt);
        this.onSucceeded(taskId, now);
      }
    }
  }
}

/** The callback delivery's record: an update of the `callback` map. */
const isCallbackRecord = (input: Record<string, unknown>): boolean =>
  typeof input.UpdateExpression === 'string' && input.UpdateExpression.includes('#callback.');

const SERVICES: Readonly<Record<string, string>> = { DynamoDBClient: 'DynamoDB', SQSClient: 'SQS', S3Client: 'S3' };

const keyOf = (input: Record<string, unknown>): string => String((input.Key as AttributeMap | undefined)?.taskId?.S);

/**
 * Size of an item as DynamoDB bills it (shared/item-size.ts). The middleware sees items in the wire
 * form (attribute values) or, where the document client has already converted them, as plain values.
 */
function dynamoItemBytes(item: AttributeMap): number {
  let native: Record<string, unknown>;
  try {
    native = unmarshall(item as unknown as Record<string, AttributeValue>) as Record<string, unknown>;
  } catch {
    native = item;
  }
  return dynamoItemSize(native);
}
