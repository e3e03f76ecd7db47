import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';
import { taskFactory } from '../support/factories.js';
import { TEST_NOW } from '../support/fakes.js';

let aws: EmulatedAws;
let store: DynamoTaskStore;
const t0 = TEST_NOW;
const later = (ms: number) => new Date(t0.getTime() + ms);

beforeAll(async () => {
  aws = await startEmulatedAws();
  store = new DynamoTaskStore(aws.documents, aws.resources.tableName);
});
afterAll(() => aws.stop());

// The state machine's writes are held to test/adapters/task-store-contract.test.ts; this file covers the rest.
describe('DynamoTaskStore against dynalite', () => {
  it('reads back what it created, with the id of the write that created it', async () => {
    const task = taskFactory();
    await store.create(task, 0);
    expect(await store.get(task.taskId)).toEqual({ ...task, lastWriteId: expect.any(String) });
  });
});

describe('DynamoTaskStore listing against dynalite', () => {
  it('lists an owner’s live tasks newest first, a page at a time, with a status filter', async () => {
    const owner = `lister-${randomUUID()}`;
    const at = (minute: number) => new Date(t0.getTime() + minute * 60_000).toISOString();
    const tasks = [1, 2, 3].map((m) => taskFactory({ ownerId: owner, createdAt: at(m) }));
    const expired = taskFactory({ ownerId: owner, createdAt: at(4), expiresAt: 1 });
    for (const task of [...tasks, expired]) await store.create(task, 0);
    await store.claim(tasks[0]?.taskId ?? '', t0, later(60_000).getTime());
    const nowSeconds = Math.floor(t0.getTime() / 1000);

    const first = await store.listByOwner(owner, { limit: 2, nowSeconds });
    const rest = await store.listByOwner(owner, { limit: 2, nowSeconds, cursor: first.cursor });
    const running = await store.listByOwner(owner, { limit: 10, nowSeconds, status: 'RUNNING' });

    expect([...first.tasks, ...rest.tasks].map((t) => t.createdAt)).toEqual([at(3), at(2), at(1)]);
    expect(running.tasks.map((t) => t.taskId)).toEqual([tasks[0]?.taskId]);
  });

  it('lists summaries: every attribute a listing shows, neither payload nor result nor bookkeeping', async () => {
    const owner = `summarised-${randomUUID()}`;
    const done = taskFactory({
      ownerId: owner,
      status: 'SUCCEEDED',
      attempt: 1,
      result: { r: 'RESULT' },
      idempotencyKey: 'key',
      startedAt: t0.toISOString(),
      finishedAt: t0.toISOString(),
      progress: { percent: 100 },
      lastError: { code: 'Flaky', message: 'once' },
      lane: 'long',
      priority: 'high',
    });
    await aws.documents.send(new PutCommand({ TableName: aws.resources.tableName, Item: done }));

    const { tasks } = await store.listByOwner(owner, { limit: 10, nowSeconds: 0 });

    const { payload: _p, result: _r, payloadHash: _h, idempotencyKey: _k, ...summary } = done;
    expect(tasks).toEqual([summary]);
  });
});
