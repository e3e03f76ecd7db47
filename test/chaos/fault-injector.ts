import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { onSdkClientCreated } from '../../shared/aws/clients.js';

export interface FaultRates {
  /** Share of calls that fail (half before reaching the service, half after it applied the call). */
  readonly error: number;
  /** Share of calls delayed by up to `maxLatencyMs`. */
  readonly latency: number;
  readonly maxLatencyMs: number;
}

/** Faults injected so far, by "Service.Operation" and kind. */
export type FaultCounts = Record<string, number>;

/**
 * Attaches fault-injecting middleware to every SDK client the functions build from now on. It sits
 * in the initialize step, outside the SDK's own retries, so our code sees each fault: a lost request,
 * or a lost response to a request the service did apply (the case that makes retries unsafe).
 */
export function injectSdkFaults(rates: FaultRates, random: () => number = Math.random): FaultCounts {
  const counts: FaultCounts = {};
  const count = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  onSdkClientCreated((client: DynamoDBClient | SQSClient, origin) => {
    if (origin !== 'function') return;
    const service = client.config.serviceId;
    // The two clients' stacks have different generic types; the middleware is the same for both.
    const stack = client.middlewareStack as unknown as MiddlewareStack;
    stack.add(
      (next, context) => async (args) => {
        const operation = `${service}.${String(context.commandName).replace(/Command$/, '')}`;
        if (random() < rates.latency) {
          count(`${operation}:latency`);
          await new Promise((resolve) => setTimeout(resolve, random() * rates.maxLatencyMs));
        }
        const roll = random();
        if (roll < rates.error / 2) {
          count(`${operation}:lostRequest`);
          throw injected(operation);
        }
        const result = await next(args);
        if (roll < rates.error) {
          count(`${operation}:lostResponse`);
          throw injected(operation);
        }
        return result;
      },
      { step: 'initialize', name: 'chaosFaults', priority: 'high' },
    );
  });
  return counts;
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
