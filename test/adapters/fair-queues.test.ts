import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { type EmulatedAws, startEmulatedAws } from '../support/emulated-aws.js';

/**
 * The local stack's SQS plays fair queues as AWS documents them: a standard queue keeps each message's
 * MessageGroupId, and once a group holds more than 10 % of the messages in flight (and at least 30),
 * receives return the other groups' messages first.
 */
describe('fair queues on the local SQS', () => {
  let aws: EmulatedAws;
  beforeAll(async () => {
    aws = await startEmulatedAws();
  });
  afterAll(() => aws.stop());

  const newQueue = async () =>
    (await aws.sqs.send(new CreateQueueCommand({ QueueName: `fair-${randomUUID()}` }))).QueueUrl ?? '';

  const send = async (queueUrl: string, group: string | undefined, count: number) => {
    for (let start = 0; start < count; start += 10) {
      const entries = Array.from({ length: Math.min(10, count - start) }, (_, i) => ({
        Id: String(i),
        MessageBody: `${group ?? 'none'}-${start + i}`,
        MessageGroupId: group,
      }));
      await aws.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    }
  };

  const receive = async (queueUrl: string, count: number): Promise<Message[]> => {
    const received: Message[] = [];
    while (received.length < count) {
      const { Messages = [] } = await aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, count - received.length),
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      received.push(...Messages);
    }
    return received;
  };

  const groupsOf = (messages: readonly Message[]) => messages.map((m) => (m.Body ?? '').replace(/-\d+$/, ''));

  it('keeps the MessageGroupId of a message sent to a standard queue', async () => {
    const queueUrl = await newQueue();
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'one', MessageGroupId: 'owner-a' }));

    const [message] = await receive(queueUrl, 1);

    expect(message?.Attributes?.MessageGroupId).toBe('owner-a');
  });

  it('serves a quiet group before the backlog of a group that holds most messages in flight', async () => {
    const queueUrl = await newQueue();
    await send(queueUrl, 'noisy', 100);
    await receive(queueUrl, 40); // 40 in flight: over 10 % and at least 30
    await send(queueUrl, 'quiet', 5);

    const next = await receive(queueUrl, 10);

    expect(groupsOf(next)).toEqual([...Array(5).fill('quiet'), ...Array(5).fill('noisy')]);
  });

  it('treats each message without a group as a tenant of its own: without groups, a backlog is served first', async () => {
    const queueUrl = await newQueue();
    await send(queueUrl, undefined, 100);
    await receive(queueUrl, 40);
    await send(queueUrl, undefined, 5);

    const next = await receive(queueUrl, 10);

    expect(next.map((m) => m.Body)).toEqual(Array.from({ length: 10 }, (_, i) => `none-${40 + i}`));
  });

  it('serves the noisy group with the fewest messages in flight first', async () => {
    const queueUrl = await newQueue();
    await send(queueUrl, 'heavy', 60);
    await receive(queueUrl, 50); // heavy: 50 in flight, 10 waiting
    await send(queueUrl, 'medium', 40);
    await receive(queueUrl, 30); // medium, quiet so far, goes first: 30 in flight, both groups noisy now

    const next = await receive(queueUrl, 10);

    expect(groupsOf(next)).toEqual(Array(10).fill('medium'));
  });

  it('gives each entry of a batch its own group, a refused entry in between', async () => {
    const queueUrl = await newQueue();
    const { Failed = [] } = await aws.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'first', MessageGroupId: 'g1' },
          { Id: 'b', MessageBody: 'bad \u0000', MessageGroupId: 'g2' },
          { Id: 'c', MessageBody: 'third', MessageGroupId: 'g3' },
        ],
      }),
    );

    const received = await receive(queueUrl, 2);

    expect(Failed.map((entry) => entry.Id)).toEqual(['b']);
    expect(received.map((m) => [m.Body, m.Attributes?.MessageGroupId])).toEqual([
      ['first', 'g1'],
      ['third', 'g3'],
    ]);
  });

  it('counts a group noisy by its share of recent processing time', async () => {
    const queueUrl = await newQueue();
    await send(queueUrl, 'slow-owner', 1);
    const received = await receive(queueUrl, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await aws.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: received.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );

    expect([...(aws.fairness(queueUrl)?.noisyGroups().keys() ?? [])]).toEqual(['slow-owner']);
  });

  it('sends each task message with its group as MessageGroupId, unless fair queues are off', async () => {
    const queueUrl = await newQueue();
    const message = { taskId: randomUUID(), type: 'echo', group: 'owner-group' };
    await new SqsTaskQueue(aws.sqs, queueUrl).enqueue(message);
    await new SqsTaskQueue(aws.sqs, queueUrl).enqueueBatch([{ message }]);
    await new SqsTaskQueue(aws.sqs, queueUrl, { fairQueues: false }).enqueue(message);

    const received = await receive(queueUrl, 3);

    expect(received.map((m) => m.Attributes?.MessageGroupId)).toEqual(['owner-group', 'owner-group', undefined]);
    expect(JSON.parse(received[2]?.Body ?? '{}')).toMatchObject({ group: 'owner-group' });
  });
});
