import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { type Task, TaskStatus } from '../../shared/task.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';

let aws: EmulatedAws;
let store: DynamoTaskStore;
const responses: unknown[] = [];
const now = new Date();

const task: Task = {
  taskId: '11111111-1111-4111-8111-111111111111',
  ownerId: 'jwt:alice',
  type: 'echo',
  status: TaskStatus.Queued,
  payload: { blob: 'x'.repeat(100_000) },
  payloadHash: 'hash',
  attempt: 0,
  maxAttempts: 3,
  createdAt: now.toISOString(),
  updatedAt: now.toISOString(),
  expiresAt: Math.floor(now.getTime() / 1000) + 86_400,
};
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  aws = await startEmulatedAws();
  // What the table sends back, as the SDK parsed it: the bytes an attacker's request would cost.
  aws.documents.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      responses.push(result.output);
      return result;
    },
    { step: 'initialize', name: 'recordOutputs' },
  );
  store = new DynamoTaskStore(aws.documents, aws.resources.tableName);
  await store.create(task, 0);
});
afterAll(() => aws.stop());

describe('DynamoTaskStore.get with an owner', () => {
  it("returns the owner's task", async () => {
    expect(await store.get(task.taskId, { ownerId: 'jwt:alice' })).toEqual({
      ...task,
      lastWriteId: expect.any(String),
    });
  });

  it("gets the same empty answer from the table for another owner's task as for a missing one", async () => {
    responses.length = 0;

    const foreign = await store.get(task.taskId, { ownerId: 'jwt:mallory' });
    const missing = await store.get(UNKNOWN_ID, { ownerId: 'jwt:mallory' });

    expect(foreign).toBeUndefined();
    expect(missing).toBeUndefined();
    const [foreignOutput, missingOutput] = responses as { Items?: unknown[]; Count?: number }[];
    expect(foreignOutput?.Items).toEqual([]);
    expect(missingOutput?.Items).toEqual([]);
    expect(JSON.stringify(foreignOutput).length).toBe(JSON.stringify(missingOutput).length);
  });

  it("leaves another owner's task alone on cancel and reports it missing", async () => {
    expect(await store.cancel(task.taskId, 'jwt:mallory', now, task.expiresAt)).toBeUndefined();
    expect(await store.get(task.taskId)).toMatchObject({ status: TaskStatus.Queued });
  });
});
