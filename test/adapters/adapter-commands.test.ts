import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoTaskStore } from '../../shared/aws/dynamo-task-store.js';
import { SqsTaskQueue } from '../../shared/aws/sqs-task-queue.js';
import { DependencyUnavailableError, ItemTooLargeError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamoMock = mockClient(documents);
const sqs = new SQSClient({ region: 'us-east-1' });
const sqsMock = mockClient(sqs);
const store = new DynamoTaskStore(documents, 'tasks');
const queue = new SqsTaskQueue(sqs, 'https://sqs.us-east-1.amazonaws.com/1/tasks');

afterEach(() => {
  dynamoMock.reset();
  sqsMock.reset();
});

const sdkError = (name: string, fault: 'client' | 'server', message = `${name} from the service`) =>
  Object.assign(new Error(message), { name, $fault: fault, $metadata: {} });

const task = { taskId: 'id-1', status: 'QUEUED', attempt: 0 } as unknown as Task;

const conditionFailed = (item?: Record<string, unknown>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: item as never,
  });

describe('DynamoTaskStore commands', () => {
  it('creates with a put conditioned on the id being new, or expired and not held by a live lease', async () => {
    dynamoMock.on(PutCommand).resolves({});

    await store.create(task, 1_000_500);

    expect(dynamoMock.commandCalls(PutCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'tasks',
      Item: { ...task, lastWriteId: expect.any(String) },
      ConditionExpression:
        'attribute_not_exists(taskId) OR (expiresAt <= :nowS AND NOT (#status = :running AND leaseExpiresAt >= :nowMs))',
      ExpressionAttributeValues: { ':nowS': 1_000, ':nowMs': 1_000_500 },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('claims with one conditional update that returns the whole new item (no extra read)', async () => {
    dynamoMock.on(UpdateCommand).resolves({ Attributes: { taskId: 'id-1', status: 'RUNNING', attempt: 1 } });

    const result = await store.claim('id-1', new Date(0), 5_000);

    expect(result.claimed).toBe(true);
    expect(dynamoMock.calls()).toHaveLength(1);
    expect(dynamoMock.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { taskId: 'id-1' },
      ConditionExpression: expect.stringContaining('runAtMs <= :nowMs'),
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ExpressionAttributeValues: expect.objectContaining({
        ':lease': 5_000,
        ':nowMs': 0,
        ':writeId': expect.any(String),
      }),
    });
  });

  it('fences completion on the status and the attempt', async () => {
    dynamoMock.on(UpdateCommand).resolves({});

    await store.finish('id-1', 3, { status: 'SUCCEEDED', result: { ok: true } }, new Date(0), 10);

    expect(dynamoMock.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      ConditionExpression: '#status = :running AND attempt = :attempt',
      ExpressionAttributeValues: expect.objectContaining({ ':attempt': 3, ':result': { ok: true } }),
    });
  });

  it('reads the refusing item from the failed condition itself, with no extra read', async () => {
    dynamoMock
      .on(PutCommand)
      .rejects(conditionFailed({ taskId: { S: 'id-1' }, status: { S: 'RUNNING' }, attempt: { N: '1' } }));

    await expect(store.create(task, 0)).resolves.toEqual({
      created: false,
      existing: { taskId: 'id-1', status: 'RUNNING', attempt: 1 },
    });
    expect(dynamoMock.calls()).toHaveLength(1);
  });

  it('recognises its own write in the refusing item: a retry of an applied write whose reply was lost', async () => {
    dynamoMock.on(UpdateCommand).callsFake((input: { ExpressionAttributeValues: Record<string, unknown> }) => {
      const writeId = String(input.ExpressionAttributeValues[':writeId']);
      throw conditionFailed({ taskId: { S: 'id-1' }, status: { S: 'SUCCEEDED' }, lastWriteId: { S: writeId } });
    });

    await expect(store.finish('id-1', 1, { status: 'SUCCEEDED', result: 1 }, new Date(0), 1)).resolves.toBe(true);
  });

  it('turns a failed condition on finish by someone else into false', async () => {
    dynamoMock.on(UpdateCommand).rejects(conditionFailed({ taskId: { S: 'id-1' }, lastWriteId: { S: 'theirs' } }));

    await expect(store.finish('id-1', 1, { status: 'CANCELLED' }, new Date(0), 1)).resolves.toBe(false);
  });

  it('turns an item DynamoDB refuses as too large into ItemTooLargeError', async () => {
    dynamoMock
      .on(UpdateCommand)
      .rejects(sdkError('ValidationException', 'client', 'Item size to update has exceeded the maximum allowed size'));

    await expect(store.finish('id-1', 1, { status: 'SUCCEEDED', result: 'x' }, new Date(0), 1)).rejects.toBeInstanceOf(
      ItemTooLargeError,
    );
  });

  it.each([
    ['throttling', sdkError('ThrottlingException', 'client')],
    ['a server fault', sdkError('InternalServerError', 'server')],
    ['a missing table', sdkError('ResourceNotFoundException', 'client')],
    ['a network failure', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
  ])('reports %s as DependencyUnavailableError', async (_case, error) => {
    dynamoMock.on(PutCommand).rejects(error);

    await expect(store.create(task, 0)).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('passes a request the service rejects as invalid through unchanged (our bug, not an outage)', async () => {
    const invalid = sdkError('ValidationException', 'client');
    dynamoMock.on(PutCommand).rejects(invalid);

    await expect(store.create(task, 0)).rejects.toBe(invalid);
  });
});

describe('SqsTaskQueue commands', () => {
  it('sends only the task id and type, with the delay', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });

    await queue.enqueue({ taskId: 'id-1', type: 'echo' }, { delaySeconds: 5 });

    const input = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ QueueUrl: 'https://sqs.us-east-1.amazonaws.com/1/tasks', DelaySeconds: 5 });
    expect(JSON.parse(input?.MessageBody ?? '')).toEqual({ taskId: 'id-1', type: 'echo' });
  });

  it('retries later by changing the message visibility', async () => {
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});

    await queue.retryLater('receipt', 7);

    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input).toMatchObject({
      ReceiptHandle: 'receipt',
      VisibilityTimeout: 7,
    });
  });

  it('reports a failed send as DependencyUnavailableError', async () => {
    sqsMock.on(SendMessageCommand).rejects(sdkError('ServiceUnavailable', 'server'));

    await expect(queue.enqueue({ taskId: 'id-1', type: 'echo' })).rejects.toBeInstanceOf(DependencyUnavailableError);
  });
});
