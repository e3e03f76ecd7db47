import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { type LaneTable, routeOfQueueArn } from '../../shared/lanes.js';

const URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012';
const LANES: LaneTable = {
  default: { queues: { normal: `${URL}/Offload-Queue-A1`, high: `${URL}/Offload-High-B2` }, staleAfterSeconds: 2_700 },
  long: { queues: { normal: `${URL}/Offload-LongQueue-C3`, high: `${URL}/Offload-LongHigh-D4` }, staleAfterSeconds: 9 },
};

const sqs = new SQSClient({ region: 'eu-west-1' });
const sqsMock = mockClient(sqs);
const queue = new SqsTaskQueue(sqs, LANES.default?.queues.normal ?? '', { lanes: LANES });

afterEach(() => sqsMock.reset());

const sentTo = () => sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input.QueueUrl);

describe('SqsTaskQueue across lanes', () => {
  it.each([
    ['no lane or priority (a message of before lanes)', {}, 'Offload-Queue-A1'],
    ['the default lane at normal priority', { lane: 'default', priority: 'normal' as const }, 'Offload-Queue-A1'],
    ['the default lane at high priority', { lane: 'default', priority: 'high' as const }, 'Offload-High-B2'],
    ['the long lane at normal priority', { lane: 'long', priority: 'normal' as const }, 'Offload-LongQueue-C3'],
    ['the long lane at high priority', { lane: 'long', priority: 'high' as const }, 'Offload-LongHigh-D4'],
    ['a lane the deployment no longer has', { lane: 'gone', priority: 'high' as const }, 'Offload-High-B2'],
  ])('sends a message for %s to its queue', async (_case, route, queueName) => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });

    await queue.enqueue({ taskId: 'id-1', type: 'echo', ...route });

    expect(sentTo()).toEqual([`${URL}/${queueName}`]);
  });

  it('names a lane and priority in the body only when they are not the default ones', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });

    await queue.enqueue({ taskId: 'a', type: 'echo', lane: 'default', priority: 'normal' });
    await queue.enqueue({ taskId: 'b', type: 'echo', lane: 'long', priority: 'high' });

    const bodies = sqsMock
      .commandCalls(SendMessageCommand)
      .map((call) => JSON.parse(call.args[0].input.MessageBody ?? ''));
    expect(bodies).toEqual([
      { taskId: 'a', type: 'echo' },
      { taskId: 'b', type: 'echo', lane: 'long', priority: 'high' },
    ]);
  });

  it('sends a batch spanning lanes and priorities as one SendMessageBatch per queue, outcomes in the order given', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .callsFake((input: { QueueUrl: string; Entries: { Id: string }[] }) =>
        input.QueueUrl.endsWith('LongHigh-D4')
          ? { Successful: [], Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] }
          : { Successful: input.Entries.map(({ Id }) => ({ Id, MessageId: 'm', MD5OfMessageBody: '' })), Failed: [] },
      );

    const outcomes = await queue.enqueueBatch([
      { message: { taskId: 'a', type: 'echo' } },
      { message: { taskId: 'b', type: 'echo', lane: 'long', priority: 'high' } },
      { message: { taskId: 'c', type: 'echo', lane: 'default', priority: 'normal' }, delaySeconds: 5 },
    ]);

    const batches = sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
    expect(
      batches.map((batch) => [
        batch.QueueUrl,
        batch.Entries?.map((entry) => JSON.parse(entry.MessageBody ?? '').taskId),
      ]),
    ).toEqual([
      [`${URL}/Offload-Queue-A1`, ['a', 'c']],
      [`${URL}/Offload-LongHigh-D4`, ['b']],
    ]);
    expect(outcomes.map((outcome) => outcome.sent)).toEqual([true, false, true]);
  });

  it('changes the visibility of a message on the queue it came from', async () => {
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});

    await queue.retryLater('receipt', 7, { lane: 'long', priority: 'high' });
    await queue.retryLater('receipt', 7);

    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input.QueueUrl)).toEqual([
      `${URL}/Offload-LongHigh-D4`,
      `${URL}/Offload-Queue-A1`,
    ]);
  });
});

describe('routeOfQueueArn', () => {
  it.each([
    ['arn:aws:sqs:eu-west-1:123456789012:Offload-LongHigh-D4', { lane: 'long', priority: 'high' }],
    ['arn:aws:sqs:eu-west-1:123456789012:Offload-Queue-A1', { lane: 'default', priority: 'normal' }],
    ['arn:aws:sqs:eu-west-1:123456789012:someone-elses-queue', undefined],
  ])('finds the lane and priority of the queue %s', (arn, expected) => {
    expect(routeOfQueueArn(LANES, arn)).toEqual(expected);
  });
});
