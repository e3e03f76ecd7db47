import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoFairShare } from '../../shared/aws/dynamo-fair-share.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import type { OwnerSlots, SubmitRateLimiter } from '../../shared/fair-share.js';
import type { TaskStore } from '../../shared/ports.js';
import type { Task } from '../../shared/task.js';
import { type EmulatedAws, startEmulatedAws } from './emulated-aws.js';
import { InMemoryFairShare } from './in-memory-fair-share.js';
import { InMemoryTaskStore } from './in-memory-task-store.js';
import { type LostReplies, loseReplies } from './lost-replies.js';

/**
 * One TaskStore under test, with the two things the contract and model tests need besides the
 * port: a way to lose the next reply of a write, and a way to read an item without going through
 * the store under test.
 */
export interface TaskStoreHarness {
  readonly name: string;
  readonly store: TaskStore;
  /**
   * The next write of `method` is applied but its reply lost, and retried. For the in-memory store a
   * lost reply is indistinguishable from success by definition: a no-op. The contract holds the
   * DynamoDB adapter to exactly that.
   */
  loseNextReply(method: keyof TaskStore): void;
  /** Forgets losses armed but not spent (a write whose condition failed applied nothing to lose). */
  clearLostReplies(): void;
  /** Replies lost so far (the DynamoDB harness only): proves the injection happened. */
  lostReplies(): number;
  stop(): Promise<void>;
}

/** The DynamoDB operation behind each write of DynamoTaskStore. */
const OPERATION: Partial<Record<keyof TaskStore, string>> = {
  create: 'PutItem',
  discard: 'DeleteItem',
  markReplayed: 'UpdateItem',
  claim: 'UpdateItem',
  finish: 'UpdateItem',
  progress: 'UpdateItem',
  release: 'UpdateItem',
  cancel: 'UpdateItem',
  requeueDeadLettered: 'UpdateItem',
  failAbandoned: 'UpdateItem',
  endExpired: 'UpdateItem',
  recordCallback: 'UpdateItem',
  noteWaiting: 'UpdateItem',
};

export const inMemoryHarness = async (): Promise<TaskStoreHarness> => ({
  name: 'InMemoryTaskStore',
  store: new InMemoryTaskStore(),
  loseNextReply: () => {},
  clearLostReplies: () => {},
  lostReplies: () => 0,
  stop: async () => {},
});

/** DynamoTaskStore against dynalite through a client whose replies can be lost inside the SDK's retry loop. */
export async function dynamoHarness(aws?: EmulatedAws): Promise<TaskStoreHarness> {
  const owned = aws === undefined;
  const emulated = aws ?? (await startEmulatedAws());
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    endpoint: emulated.endpoints.dynamodb,
    retryStrategy: quickRetries,
  });
  const replies: LostReplies = loseReplies(client);
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    name: 'DynamoTaskStore (dynalite)',
    store: new DynamoTaskStore(documents, emulated.resources.tableName),
    loseNextReply: (method) => {
      const operation = OPERATION[method];
      if (operation) replies.loseNext(operation);
    },
    clearLostReplies: () => replies.clear(),
    lostReplies: () => Object.values(replies.lost).reduce((sum, n) => sum + n, 0),
    async stop() {
      client.destroy();
      if (owned) await emulated.stop();
    },
  };
}

/**
 * The SDK's standard retry decisions (transient and throttling errors, three tries) without its
 * backoff delays: the tests care what a retry finds, not how long it waited.
 */
const quickRetries = {
  mode: 'standard',
  acquireInitialRetryToken: async () => retryToken(0),
  refreshRetryTokenForRetry: async (
    token: ReturnType<typeof retryToken>,
    info: { error?: unknown; errorType: string },
  ) => {
    if (info.errorType === 'CLIENT_ERROR' || token.getRetryCount() >= 2) throw info.error;
    return retryToken(token.getRetryCount() + 1);
  },
  recordSuccess: () => {},
};

function retryToken(count: number) {
  return { getRetryCount: () => count, getRetryDelay: () => 0 };
}

/** A fresh QUEUED task with a unique id, as submit writes it. */
export function queuedTask(now: Date, overrides: Partial<Task> = {}): Task {
  return {
    taskId: randomUUID(),
    ownerId: 'jwt:owner-a',
    type: 'echo',
    status: 'QUEUED',
    payload: { n: 1 },
    payloadHash: 'hash',
    attempt: 0,
    maxAttempts: 3,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + 86_400,
    lastWriteId: randomUUID(),
    ...overrides,
  };
}

/** The fair-share ports under test, with a way to lose the next reply of a write (DynamoDB only). */
export interface FairShareHarness {
  readonly name: string;
  readonly fairShare: OwnerSlots & SubmitRateLimiter;
  /** The next UpdateItem is applied but its reply lost, and retried by the SDK. */
  loseNextReply(): void;
  clearLostReplies(): void;
  lostReplies(): number;
  /** Acquisitions and windows recognised as their own after a lost reply. */
  readonly recovered: string[];
  stop(): Promise<void>;
}

export const inMemoryFairShareHarness = async (): Promise<FairShareHarness> => ({
  name: 'InMemoryFairShare',
  fairShare: new InMemoryFairShare(),
  loseNextReply: () => {},
  clearLostReplies: () => {},
  lostReplies: () => 0,
  recovered: [],
  stop: async () => {},
});

/** DynamoFairShare against dynalite, replies lost inside the SDK's retry loop on demand. */
export async function dynamoFairShareHarness(): Promise<FairShareHarness> {
  const emulated = await startEmulatedAws();
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    endpoint: emulated.endpoints.dynamodb,
    retryStrategy: quickRetries,
  });
  const replies = loseReplies(client);
  const recovered: string[] = [];
  return {
    name: 'DynamoFairShare (dynalite)',
    fairShare: new DynamoFairShare(DynamoDBDocumentClient.from(client), emulated.resources.fairShareTableName, (op) =>
      recovered.push(op),
    ),
    loseNextReply: () => replies.loseNext('UpdateItem'),
    clearLostReplies: () => replies.clear(),
    lostReplies: () => Object.values(replies.lost).reduce((sum, n) => sum + n, 0),
    recovered,
    async stop() {
      client.destroy();
      await emulated.stop();
    },
  };
}
