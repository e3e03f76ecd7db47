import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);

export interface Emulators {
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Keep DynamoDB data in this folder (dynalite `path`); in memory when absent. */
  readonly dataDir?: string;
}

/** dynalite (DynamoDB) and fauxqs (SQS), in this process, on loopback ports chosen by the OS. */
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
  const sqs = buildApp({ logger: false });
  const sqsEndpoint = await sqs.listen({ port: 0, host: '127.0.0.1' });

  return {
    dynamodbEndpoint: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
    sqsEndpoint,
    async stop() {
      await sqs.close();
      dynamo.closeAllConnections();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}
