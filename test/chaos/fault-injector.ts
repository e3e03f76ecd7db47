import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { onSdkClientCreated } from '../../shared/aws/clients.js';
import { loseReplies } from '../support/lost-replies.js';

export interface FaultRates {
  /**
   * Share of calls that fail outside the SDK's retries (half before reaching the service, half
   * after it applied the call), so our code sees the fault.
   */
  readonly error: number;
  /**
   * Share of calls whose reply is lost inside the SDK's retry loop: the service applied the call and
   * the SDK sends it again, against the state the first try left (the commonest AWS failure).
   */
  readonly lostReply: number;
  /** Share of calls delayed by up to `maxLatencyMs`. */
  readonly latency: number;
  readonly maxLatencyMs: number;
}

/** Faults injected so far, by "Service.Operation:kind". */
export type FaultCounts = Record<string, number>;

/**
 * Attaches fault-injecting middleware to every SDK client the functions build from now on (in this
 * thread: the local stack's worker threads call this from their setup). `onFault` hears each one.
 */
export function injectSdkFaults(
  rates: FaultRates,
  onFault: (key: string) => void,
  random = Math.random,
  /** A fault decided by the call itself (scripted scenarios), on top of the random ones. */
  script?: (operation: string, input: Record<string, unknown>) => 'lostRequest' | undefined,
): void {
  onSdkClientCreated((sdkClient, origin) => {
    // The functions' table, queues and task data bucket (some chaos tasks keep payload and result there).
    if (origin !== 'function') return;
    const client = sdkClient as DynamoDBClient | SQSClient;
    const service = client.config.serviceId;
    // The two clients' stacks have different generic types; the middleware is the same for both.
    const stack = client.middlewareStack as unknown as MiddlewareStack;
    stack.add(
      (next, context) => async (args) => {
        const operation = `${service}.${String(context.commandName).replace(/Command$/, '')}`;
        if (random() < rates.latency) {
          onFault(`${operation}:latency`);
          await new Promise((resolve) => setTimeout(resolve, random() * rates.maxLatencyMs));
        }
        if (script?.(operation, (args as { input?: Record<string, unknown> }).input ?? {}) === 'lostRequest') {
          onFault(`${operation}:scripted`);
          throw injected(operation);
        }
        const roll = random();
        if (roll < rates.error / 2) {
          onFault(`${operation}:lostRequest`);
          throw injected(operation);
        }
        const result = await next(args);
        if (roll < rates.error) {
          onFault(`${operation}:lostResponse`);
          throw injected(operation);
        }
        return result;
      },
      { step: 'initialize', name: 'chaosFaults', priority: 'high' },
    );
    loseReplies(client, (lost) => onFault(`${service}.${lost}:lostReply`)).setRate(rates.lostReply, random);
  });
}

type Handler = (args: unknown) => Promise<unknown>;
interface MiddlewareStack {
  add(
    middleware: (next: Handler, context: { commandName?: string }) => Handler,
    options: { step: 'initialize'; name: string; priority: 'high' },
  ): void;
}

function injected(operation: string): Error {
  return Object.assign(new Error(`Injected fault in ${operation}`), {
    name: 'ServiceUnavailable',
    $fault: 'server',
    $metadata: { httpStatusCode: 503 },
  });
}

/** Fault counts summed by kind: `sdk_lostRequest`, `sdk_lostResponse`, `sdk_lostReply`, `sdk_latency`. */
export function summarize(counts: FaultCounts): Record<string, number> {
  const byKind: Record<string, number> = {};
  for (const [key, n] of Object.entries(counts)) {
    const kind = key.split(':')[1] ?? key;
    byKind[`sdk_${kind}`] = (byKind[`sdk_${kind}`] ?? 0) + n;
  }
  return byKind;
}
