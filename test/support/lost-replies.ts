import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

/**
 * The commonest AWS failure, on demand: the service applied a request, its reply was lost, and the
 * SDK's own retry sent it again. Middleware in the deserialize step (inside the SDK's retry loop)
 * lets the request through, then throws a retryable 503, so the SDK repeats it against the state
 * the first try left behind, exactly as it does in AWS.
 */
export interface LostReplies {
  /** The next call of `operation` (e.g. `UpdateItem`) that the service applies loses its reply once. */
  loseNext(operation: string): void;
  /** Forgets losses armed but not yet spent. */
  clear(): void;
  /** Every call loses its reply with this probability (chaos); 0 turns it off. */
  setRate(rate: number, random?: () => number): void;
  /** Replies lost so far, by operation. */
  readonly lost: Readonly<Record<string, number>>;
}

type Handler = (args: unknown) => Promise<unknown>;
interface MiddlewareStack {
  add(
    middleware: (next: Handler, context: { commandName?: string }) => Handler,
    options: { step: 'deserialize'; name: string; priority: 'high' | 'low' },
  ): void;
}

export function loseReplies(
  client: DynamoDBClient | SQSClient,
  onLost: (operation: string) => void = () => {},
): LostReplies {
  const pending: string[] = [];
  const retried = new WeakSet<object>();
  const lost: Record<string, number> = {};
  let rate = 0;
  let random = Math.random;
  (client.middlewareStack as unknown as MiddlewareStack).add(
    (next, context) => async (args) => {
      const operation = String(context.commandName).replace(/Command$/, '');
      const result = await next(args);
      // A request loses at most one reply: its retry (the same args) goes through.
      if (retried.has(args as object)) return result;
      const index = pending.indexOf(operation);
      if (index >= 0 || (rate > 0 && random() < rate)) {
        if (index >= 0) pending.splice(index, 1);
        retried.add(args as object);
        lost[operation] = (lost[operation] ?? 0) + 1;
        onLost(operation);
        throw lostReply(operation);
      }
      return result;
    },
    { step: 'deserialize', name: 'loseReplies', priority: 'high' },
  );
  return {
    loseNext: (operation) => pending.push(operation),
    clear: () => {
      pending.length = 0;
    },
    setRate: (value, source = Math.random) => {
      rate = value;
      random = source;
    },
    lost,
  };
}

/** What the SDK's retry strategy classifies as transient: a 503 from the service. */
function lostReply(operation: string): Error {
  return Object.assign(new Error(`Reply to ${operation} lost (injected)`), {
    name: 'ServiceUnavailable',
    $fault: 'server',
    $metadata: { httpStatusCode: 503 },
  });
}
