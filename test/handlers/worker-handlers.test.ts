import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeadLetterHandler } from '../../functions/dead-letter/handler.js';
import { taskTypes as demoTaskTypes } from '../../functions/tasks/demo.js';
import { createWorkerHandler } from '../../functions/worker/handler.js';
import { toSqsRecord } from '../../infra/local/sqs-event-source.js';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import type { SqsBatchHandler } from '../../shared/aws/sqs-batch-handler.js';
import type { Task } from '../../shared/task.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';
import { useEmulatorEnvironment } from '../support/handler-environment.js';
import { sqsEvent, sqsRecord, testContext } from '../support/lambda-events.js';

let aws: EmulatedAws;
let store: DynamoTaskStore;
let worker: SqsBatchHandler;
let deadLetter: SqsBatchHandler;

beforeAll(async () => {
  aws = await startEmulatedAws();
  useEmulatorEnvironment(aws, { diagnosticTasks: true });
  store = new DynamoTaskStore(aws.documents, aws.resources.tableName);
  worker = createWorkerHandler(demoTaskTypes);
  deadLetter = createDeadLetterHandler(demoTaskTypes);
});
afterAll(() => aws.stop());

async function createTask(type: string, payload: unknown, extra: Partial<Task> = {}): Promise<Task> {
  const now = new Date().toISOString();
  const task: Task = {
    taskId: randomUUID(),
    ownerId: 'owner',
    type,
    status: 'QUEUED',
    payload,
    payloadHash: 'h',
    attempt: 0,
    maxAttempts: 3,
    createdAt: now,
    updatedAt: now,
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
    ...extra,
  };
  await store.create(task, 0);
  return task;
}

/** Sends the tasks' messages and receives them back, so records carry real receipt handles. */
async function deliver(tasks: Task[], queue: 'normal' | 'high' = 'normal') {
  const { queueUrl, queueArn } =
    queue === 'normal'
      ? aws.resources
      : { queueUrl: aws.resources.highPriorityQueueUrl, queueArn: aws.resources.highPriorityQueueArn };
  await aws.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: tasks.map((t, i) => ({
        Id: String(i),
        MessageBody: JSON.stringify({ taskId: t.taskId, type: t.type }),
      })),
    }),
  );
  const { Messages = [] } = await aws.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return sqsEvent(Messages.map((m) => toSqsRecord(m, queueArn)));
}

describe('worker handler with an SQS batch', () => {
  it('reports only the records to retry as batch item failures', async () => {
    const ok = await createTask('echo', { n: 1 });
    const flaky = await createTask('flaky', { failures: 1 });
    const failing = await createTask('fail', { code: 'Nope' });
    const event = await deliver([ok, flaky, failing]);
    const flakyMessageId = event.Records.find((r) => JSON.parse(r.body).taskId === flaky.taskId)?.messageId;

    const response = await worker(event, testContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: flakyMessageId }]);
    expect(await store.get(ok.taskId)).toMatchObject({ status: 'SUCCEEDED', result: { n: 1 } });
    expect(await store.get(failing.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'Nope' } });
    expect(await store.get(flaky.taskId)).toMatchObject({
      status: 'QUEUED',
      attempt: 1,
      lastError: { code: 'HandlerError' },
    });
  });

  it('acknowledges a duplicate delivery of a finished task without running it again', async () => {
    const task = await createTask('echo', 'once');
    await worker(await deliver([task]), testContext());
    const finished = await store.get(task.taskId);

    const response = await worker(await deliver([task]), testContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(await store.get(task.taskId)).toEqual(finished);
  });

  it('delays the retry of a high-priority task on the high-priority queue it came from', async () => {
    const flaky = await createTask('flaky', { failures: 1 }, { priority: 'high' });
    const event = await deliver([flaky], 'high');

    const response = await worker(event, testContext());

    expect(response.batchItemFailures).toHaveLength(1);
    // Its backoff is at most 2 s; a visibility change sent to another queue would fail and leave it hidden for minutes.
    const { Messages = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: aws.resources.highPriorityQueueUrl,
        WaitTimeSeconds: 5,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    expect(
      Messages.map((message) => [JSON.parse(message.Body ?? '').taskId, message.Attributes?.ApproximateReceiveCount]),
    ).toEqual([[flaky.taskId, '2']]);
  });

  it('acknowledges a malformed message instead of retrying it forever', async () => {
    const response = await worker(sqsEvent([sqsRecord('not json')]), testContext());

    expect(response.batchItemFailures).toEqual([]);
  });
});

describe('dead-letter handler', () => {
  it('marks the task of a dead-lettered message FAILED with DeadLettered', async () => {
    const task = await createTask('crash', {});
    await store.claim(task.taskId, new Date(), Date.now() + 1_000);

    const response = await deadLetter(
      sqsEvent([sqsRecord(JSON.stringify({ taskId: task.taskId, type: 'crash' }))]),
      testContext(),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(await store.get(task.taskId)).toMatchObject({ status: 'FAILED', error: { code: 'DeadLettered' } });
  });
});
