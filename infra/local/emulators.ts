import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { type FairDelivery, fairQueueStore, loadFauxqsInternals } from './fair-queues.js';

const require = createRequire(import.meta.url);

export interface Emulators {
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  /** How a standard queue (by URL) orders its messages by group, as SQS fair queues do. */
  fairness(queueUrl: string): FairDelivery | undefined;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Keep DynamoDB data in this folder (dynalite `path`); in memory when absent. */
  readonly dataDir?: string;
}

/**
 * dynalite (DynamoDB) and fauxqs (SQS), in this process, on loopback ports chosen by the OS. fauxqs's
 * standard queues are made fair (infra/local/fair-queues.ts), as SQS makes them for messages with a
 * MessageGroupId.
 */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  // dynalite ships CommonJS without types; fauxqs is ESM-only.
  const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
  const dynamo = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir && { path: options.dataDir }),
  });
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', reject);
    dynamo.listen(0, '127.0.0.1', () => resolve());
  });

  const { buildApp } = await import('fauxqs');
  const fair = fairQueueStore(await loadFauxqsInternals());
  // The other stores are left to fauxqs's defaults, as without `stores`.
  const sqs = buildApp({ logger: false, stores: { sqsStore: fair.store } as never });
  fair.install(sqs as never);
  const sqsEndpoint = await sqs.listen({ port: 0, host: '127.0.0.1' });

  return {
    dynamodbEndpoint: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
    sqsEndpoint,
    fairness: (queueUrl) => fair.fairness(queueUrl),
    async stop() {
      await sqs.close();
      dynamo.closeAllConnections();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}
