import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { settings } from '../settings.js';
import { type FairDelivery, fairQueueStore, loadFauxqsInternals } from './fair-queues.js';
import { persistentS3Store } from './fauxqs-internals.js';
import { checkPresignedRequest, s3ErrorXml } from './presigned-url-check.js';

const require = createRequire(import.meta.url);

/**
 * The dummy credentials of everything local: the SDK clients need some (or they probe for real ones),
 * and the presigned-URL check needs their secret to recompute signatures.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface Emulators {
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  /** fauxqs serves S3 on the same host and port as SQS; clients address buckets path-style. */
  readonly s3Endpoint: string;
  /** How a standard queue (by URL) orders its messages by group, as SQS fair queues do. */
  fairness(queueUrl: string): FairDelivery | undefined;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /**
   * Keep DynamoDB data in this folder (dynalite `path`) and S3 objects as files under its `task-data/`;
   * in memory when absent. (SQS stays in memory: the local stack re-sends unfinished tasks at start.)
   */
  readonly dataDir?: string;
  /** The largest S3 object body accepted (fauxqs's own limit is 11 MiB). @default settings.taskData.maxObjectBytes */
  readonly maxObjectBytes?: number;
  /** The clock presigned URLs expire by. @default Date.now */
  readonly now?: () => number;
}

/**
 * dynalite (DynamoDB) and fauxqs (SQS and S3), in this process, on loopback ports chosen by the OS.
 * fauxqs's standard queues are made fair (infra/local/fair-queues.ts), as SQS makes them for messages
 * with a MessageGroupId.
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
  // S3 on disk with a data folder (the default in-memory store without); SNS is left to fauxqs's default.
  const s3Store = options.dataDir ? await persistentS3Store(join(options.dataDir, 'task-data')) : undefined;
  const fauxqs = buildApp({ logger: false, stores: { sqsStore: fair.store, ...(s3Store && { s3Store }) } as never });
  fair.install(fauxqs as never);
  // S3 checks presigned URLs (expiry, signed content length); fauxqs checks no signature at all.
  const now = options.now ?? Date.now;
  const secretFor = (accessKeyId: string) =>
    accessKeyId === LOCAL_CREDENTIALS.accessKeyId ? LOCAL_CREDENTIALS.secretAccessKey : undefined;
  fauxqs.addHook('onRequest', async (request, reply) => {
    // originalUrl: as the client sent (and signed) it, before fauxqs rewrites virtual-hosted requests.
    const received = { method: request.method, url: request.originalUrl, headers: request.headers };
    const refusal = checkPresignedRequest(received, secretFor, now());
    if (refusal) return reply.code(refusal.status).header('content-type', 'application/xml').send(s3ErrorXml(refusal));
  });
  // fauxqs takes S3 bodies up to 11 MiB; uploads may be as large as the settings allow.
  const bodyLimit = Math.max(11 * 1024 * 1024, (options.maxObjectBytes ?? settings.taskData.maxObjectBytes) + 1024);
  fauxqs.removeContentTypeParser('*');
  fauxqs.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
  const sqsEndpoint = await fauxqs.listen({ port: 0, host: '127.0.0.1' });

  return {
    dynamodbEndpoint: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
    sqsEndpoint,
    s3Endpoint: sqsEndpoint,
    fairness: (queueUrl) => fair.fairness(queueUrl),
    async stop() {
      await fauxqs.close();
      dynamo.closeAllConnections();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}
