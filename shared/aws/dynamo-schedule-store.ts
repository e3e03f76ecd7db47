import { randomUUID } from 'node:crypto';
import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ListCursor, SchedulePage, ScheduleStore } from '../ports.js';
import type { Schedule } from '../schedule.js';
import { SCHEDULE_TABLE } from '../schedule-table.js';
import { toDependencyError } from './dependency-error.js';

const DEPENDENCY = 'schedule table';
const { partitionKey, sortKey } = SCHEDULE_TABLE;

/** `name` is a DynamoDB reserved word. */
const NAMES = { '#owner': partitionKey, '#name': sortKey } as const;

/** A conditional write's outcome: applied, or refused with the item as it was (undefined if there is none). */
type WriteOutcome = { readonly applied: boolean; readonly item?: Schedule };

export class DynamoScheduleStore implements ScheduleStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(schedule: Schedule): Promise<'created' | 'exists'> {
    const writeId = schedule.lastWriteId ?? randomUUID();
    const outcome = await this.write(
      schedule,
      new PutCommand({
        TableName: this.tableName,
        Item: { ...schedule, lastWriteId: writeId },
        ConditionExpression: 'attribute_not_exists(#owner)',
        ExpressionAttributeNames: { '#owner': NAMES['#owner'] },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    // Our own earlier try, whose reply was lost, left the item: it is ours.
    return outcome.applied || outcome.item?.lastWriteId === writeId ? 'created' : 'exists';
  }

  async get(ownerId: string, name: string): Promise<Schedule | undefined> {
    try {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: this.key(ownerId, name), ConsistentRead: true }),
      );
      return Item as Schedule | undefined;
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  async replace(schedule: Schedule, expectedWriteId: string): Promise<boolean> {
    const writeId = schedule.lastWriteId ?? randomUUID();
    const outcome = await this.write(
      schedule,
      new PutCommand({
        TableName: this.tableName,
        Item: { ...schedule, lastWriteId: writeId },
        ConditionExpression: 'lastWriteId = :expected',
        ExpressionAttributeValues: { ':expected': expectedWriteId },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return outcome.applied || outcome.item?.lastWriteId === writeId;
  }

  async delete(ownerId: string, name: string): Promise<Schedule | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new DeleteCommand({ TableName: this.tableName, Key: this.key(ownerId, name), ReturnValues: 'ALL_OLD' }),
      );
      return Attributes as Schedule | undefined;
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  async discard(ownerId: string, name: string, writeId: string): Promise<void> {
    // Gone already (our own earlier try) or changed by someone else: either way nothing of ours is left.
    await this.write(
      { ownerId, name },
      new DeleteCommand({
        TableName: this.tableName,
        Key: this.key(ownerId, name),
        ConditionExpression: 'lastWriteId = :writeId',
        ExpressionAttributeValues: { ':writeId': writeId },
      }),
      { readBack: false },
    );
  }

  async list(
    ownerId: string,
    options: { readonly limit: number; readonly cursor?: ListCursor },
  ): Promise<SchedulePage> {
    try {
      const { Items = [], LastEvaluatedKey } = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': NAMES['#owner'] },
          ExpressionAttributeValues: { ':owner': ownerId },
          Limit: options.limit,
          ExclusiveStartKey: options.cursor,
        }),
      );
      return {
        schedules: Items as Schedule[],
        ...(LastEvaluatedKey && { cursor: LastEvaluatedKey as ListCursor }),
      };
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  async count(ownerId: string): Promise<number> {
    let count = 0;
    let cursor: Record<string, unknown> | undefined;
    try {
      do {
        const { Count = 0, LastEvaluatedKey } = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#owner = :owner',
            ExpressionAttributeNames: { '#owner': NAMES['#owner'] },
            ExpressionAttributeValues: { ':owner': ownerId },
            Select: 'COUNT',
            ConsistentRead: true,
            ExclusiveStartKey: cursor,
          }),
        );
        count += Count;
        cursor = LastEvaluatedKey;
      } while (cursor);
      return count;
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  /**
   * Runs a conditional write. When the condition fails, the item as it was comes back with the
   * error; an emulator that does not return it costs a consistent read instead (same answer).
   */
  private async write(
    key: Pick<Schedule, 'ownerId' | 'name'>,
    command: PutCommand | DeleteCommand,
    /** Refused: read the item that refused it when DynamoDB did not return it. Off where nobody looks. */
    { readBack = true }: { readonly readBack?: boolean } = {},
  ): Promise<WriteOutcome> {
    try {
      await this.db.send(command as PutCommand);
      return { applied: true };
    } catch (error) {
      // By name as well: a second copy of the SDK in the bundle would defeat instanceof.
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as Error).name === ConditionalCheckFailedException.name
      ) {
        const old = (error as { Item?: Record<string, AttributeValue> }).Item;
        if (old) return { applied: false, item: unmarshall(old) as Schedule };
        return { applied: false, item: readBack ? await this.get(key.ownerId, key.name) : undefined };
      }
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  private key(ownerId: string, name: string): Record<string, string> {
    return { [partitionKey]: ownerId, [sortKey]: name };
  }
}
