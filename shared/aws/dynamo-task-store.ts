import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, DependencyUnavailableError } from '../errors.js';
import {
  type ClaimResult,
  type ListCursor,
  type ListOptions,
  type ScanFilter,
  TASK_SUMMARY_ATTRIBUTES,
  type TaskOutcome,
  type TaskPage,
  type TaskStore,
  type TaskSummary,
  type TaskSummaryPage,
} from '../ports.js';
import { type Task, type TaskError, type TaskProgress, TaskStatus } from '../task.js';
import { TASK_TABLE } from '../task-table.js';
import { toDependencyError } from './dependency-error.js';

const DEPENDENCY = 'task table';

/** `status`, `error` and `result` are DynamoDB reserved words, hence the name placeholders. */
const STATUS = { '#status': 'status' } as const;
const STATUS_AND_ERROR = { ...STATUS, '#error': 'error' } as const;

export class DynamoTaskStore implements TaskStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(task: Task, nowSeconds: number): Promise<void> {
    const written = await this.conditional(() =>
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: task,
          ConditionExpression: `attribute_not_exists(${TASK_TABLE.partitionKey}) OR expiresAt <= :now`,
          ExpressionAttributeValues: { ':now': nowSeconds },
        }),
      ),
    );
    if (!written) throw new ConflictError(`Task ${task.taskId} already exists.`);
  }

  async get(taskId: string, options: { readonly ownerId?: string } = {}): Promise<Task | undefined> {
    if (options.ownerId !== undefined) return this.getOwned(taskId, options.ownerId);
    try {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: this.key(taskId), ConsistentRead: true }),
      );
      return Item as Task | undefined;
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  async discard(taskId: string): Promise<void> {
    await this.conditional(() =>
      this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: this.key(taskId),
          ConditionExpression: '#status = :queued AND attempt = :zero',
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: { ':queued': TaskStatus.Queued, ':zero': 0 },
        }),
      ),
    );
  }

  async claim(taskId: string, now: Date, leaseExpiresAt: number): Promise<ClaimResult> {
    let claimed: Task | undefined;
    const won = await this.conditional(async () => {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(taskId),
          UpdateExpression:
            'SET #status = :running, attempt = attempt + :one, startedAt = :now, updatedAt = :now, leaseExpiresAt = :lease',
          ConditionExpression: '#status = :queued OR (#status = :running AND leaseExpiresAt < :nowMs)',
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: {
            ':running': TaskStatus.Running,
            ':queued': TaskStatus.Queued,
            ':one': 1,
            ':now': now.toISOString(),
            ':nowMs': now.getTime(),
            ':lease': leaseExpiresAt,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      claimed = Attributes as Task;
    });
    if (won && claimed) return { claimed: true, task: claimed };
    // Rare path (duplicate delivery, live lease, unknown id): one read tells the caller which.
    return { claimed: false, task: await this.get(taskId) };
  }

  async finish(taskId: string, attempt: number, outcome: TaskOutcome, now: Date, expiresAt: number): Promise<boolean> {
    const data =
      outcome.status === 'SUCCEEDED'
        ? { set: ', #result = :result', values: { ':result': outcome.result } }
        : outcome.status === 'FAILED'
          ? { set: ', #error = :error', values: { ':error': outcome.error } }
          : { set: '', values: {} };
    return this.conditional(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(taskId),
          UpdateExpression: `SET #status = :status, finishedAt = :now, updatedAt = :now, expiresAt = :expiresAt${data.set} REMOVE leaseExpiresAt`,
          ConditionExpression: '#status = :running AND attempt = :attempt',
          ExpressionAttributeNames: {
            ...STATUS,
            ...(outcome.status === 'SUCCEEDED' && { '#result': 'result' }),
            ...(outcome.status === 'FAILED' && { '#error': 'error' }),
          },
          ExpressionAttributeValues: {
            ':status': outcome.status,
            ':running': TaskStatus.Running,
            ':attempt': attempt,
            ':now': now.toISOString(),
            ':expiresAt': expiresAt,
            ...data.values,
          },
        }),
      ),
    );
  }

  async progress(taskId: string, attempt: number, progress: TaskProgress, now: Date): Promise<Task | undefined> {
    return this.updateIf(taskId, {
      UpdateExpression: 'SET progress = :progress, updatedAt = :now',
      ConditionExpression: '#status = :running AND attempt = :attempt',
      ExpressionAttributeValues: {
        ':progress': progress,
        ':now': now.toISOString(),
        ':running': TaskStatus.Running,
        ':attempt': attempt,
      },
    });
  }

  async release(taskId: string, attempt: number, error: TaskError, now: Date): Promise<boolean> {
    return this.conditional(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(taskId),
          UpdateExpression: 'SET #status = :queued, lastError = :error, updatedAt = :now REMOVE leaseExpiresAt',
          ConditionExpression: '#status = :running AND attempt = :attempt',
          ExpressionAttributeNames: STATUS,
          ExpressionAttributeValues: {
            ':queued': TaskStatus.Queued,
            ':running': TaskStatus.Running,
            ':attempt': attempt,
            ':error': error,
            ':now': now.toISOString(),
          },
        }),
      ),
    );
  }

  async failUnfinished(taskId: string, error: TaskError, now: Date, expiresAt: number): Promise<boolean> {
    return this.conditional(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(taskId),
          UpdateExpression:
            'SET #status = :failed, #error = :error, finishedAt = :now, updatedAt = :now, expiresAt = :expiresAt REMOVE leaseExpiresAt',
          ConditionExpression: '#status IN (:queued, :running)',
          ExpressionAttributeNames: STATUS_AND_ERROR,
          ExpressionAttributeValues: {
            ':failed': TaskStatus.Failed,
            ':queued': TaskStatus.Queued,
            ':running': TaskStatus.Running,
            ':error': error,
            ':now': now.toISOString(),
            ':expiresAt': expiresAt,
          },
        }),
      ),
    );
  }

  async cancel(taskId: string, ownerId: string, now: Date, expiresAt: number): Promise<Task | undefined> {
    const common = { ':owner': ownerId, ':now': now.toISOString(), ':true': true };
    const queued = await this.updateIf(taskId, {
      UpdateExpression:
        'SET #status = :cancelled, cancelRequested = :true, finishedAt = :now, updatedAt = :now, expiresAt = :expiresAt',
      ConditionExpression: 'ownerId = :owner AND #status = :queued',
      ExpressionAttributeValues: {
        ...common,
        ':cancelled': TaskStatus.Cancelled,
        ':queued': TaskStatus.Queued,
        ':expiresAt': expiresAt,
      },
    });
    if (queued) return queued;
    const running = await this.updateIf(taskId, {
      UpdateExpression: 'SET cancelRequested = :true, updatedAt = :now',
      ConditionExpression: 'ownerId = :owner AND #status = :running',
      ExpressionAttributeValues: { ...common, ':running': TaskStatus.Running },
    });
    if (running) return running;
    const current = await this.get(taskId, { ownerId });
    return current?.ownerId === ownerId ? current : undefined;
  }

  /**
   * The owner index holds keys only, so a page is a Query for the ids and one BatchGetItem for the
   * items (eventually consistent). The BatchGetItem projects the summary attributes: that keeps a
   * page's bytes small, but DynamoDB bills each read on the whole item all the same (half a read unit
   * per started 4 KB), so the page size is what bounds the cost. Filters apply to the items read.
   */
  async listByOwner(ownerId: string, options: ListOptions): Promise<TaskSummaryPage> {
    const { ownerIndex, partitionKey } = TASK_TABLE;
    try {
      const { Items: keys = [], LastEvaluatedKey } = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: ownerIndex.name,
          KeyConditionExpression: `${ownerIndex.partitionKey} = :owner`,
          ExpressionAttributeValues: { ':owner': ownerId },
          ScanIndexForward: false,
          Limit: options.limit,
          ExclusiveStartKey: options.cursor,
        }),
      );
      const items = await this.batchGet(keys.map((key) => String(key[partitionKey])));
      const tasks = keys
        .map((key) => items.get(String(key[partitionKey])))
        .filter(
          (task): task is TaskSummary =>
            task !== undefined &&
            task.ownerId === ownerId &&
            task.expiresAt > options.nowSeconds &&
            (!options.status || task.status === options.status),
        );
      return { tasks, ...(LastEvaluatedKey && { cursor: LastEvaluatedKey as ListCursor }) };
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  /** BatchGetItem of the summary attributes, with its retry of unprocessed keys (throttling hands some back). */
  private async batchGet(taskIds: readonly string[]): Promise<Map<string, TaskSummary>> {
    const found = new Map<string, TaskSummary>();
    const names = Object.fromEntries(TASK_SUMMARY_ATTRIBUTES.map((name, i) => [`#a${i}`, name]));
    let pending: Record<string, unknown>[] = taskIds.map((taskId) => this.key(taskId));
    for (let round = 0; pending.length > 0; round++) {
      if (round === 5) throw new DependencyUnavailableError(DEPENDENCY);
      const { Responses, UnprocessedKeys } = await this.db.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: pending,
              ProjectionExpression: Object.keys(names).join(', '),
              ExpressionAttributeNames: names,
            },
          },
        }),
      );
      for (const item of Responses?.[this.tableName] ?? []) {
        found.set((item as TaskSummary).taskId, item as TaskSummary);
      }
      pending = (UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
    return found;
  }

  async scan(filter: ScanFilter, cursor?: ListCursor): Promise<TaskPage> {
    const statuses = Object.fromEntries(filter.statuses.map((status, i) => [`:s${i}`, status]));
    const inStatuses = `#status IN (${Object.keys(statuses).join(', ')})`;
    try {
      const { Items = [], LastEvaluatedKey } = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: filter.errorCode ? `${inStatuses} AND #error.code = :code` : inStatuses,
          ExpressionAttributeNames: filter.errorCode ? STATUS_AND_ERROR : STATUS,
          ExpressionAttributeValues: { ...statuses, ...(filter.errorCode && { ':code': filter.errorCode }) },
          ExclusiveStartKey: cursor,
        }),
      );
      return { tasks: Items as Task[], ...(LastEvaluatedKey && { cursor: LastEvaluatedKey as ListCursor }) };
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  async requeueDeadLettered(taskId: string, extraAttempts: number, now: Date): Promise<boolean> {
    // attempt stays monotonic (it is the fencing token): the budget grows instead.
    const updated = await this.updateIf(taskId, {
      UpdateExpression:
        'SET #status = :queued, maxAttempts = attempt + :extra, updatedAt = :now REMOVE #error, finishedAt, leaseExpiresAt',
      ConditionExpression: '#status = :failed AND #error.code = :deadLettered',
      ExpressionAttributeNames: STATUS_AND_ERROR,
      ExpressionAttributeValues: {
        ':queued': TaskStatus.Queued,
        ':failed': TaskStatus.Failed,
        ':deadLettered': 'DeadLettered',
        ':extra': extraAttempts,
        ':now': now.toISOString(),
      },
    });
    return updated !== undefined;
  }

  /** A conditional update returning the new item, or undefined when the condition did not hold. */
  private async updateIf(
    taskId: string,
    update: Pick<
      UpdateCommandInput,
      'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeValues' | 'ExpressionAttributeNames'
    >,
  ): Promise<Task | undefined> {
    let updated: Task | undefined;
    await this.conditional(async () => {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(taskId),
          ExpressionAttributeNames: STATUS,
          ReturnValues: 'ALL_NEW',
          ...update,
        }),
      );
      updated = Attributes as Task;
    });
    return updated;
  }

  /**
   * A Query on the key with the owner as filter: DynamoDB drops another owner's item before it
   * answers, so the response is the same empty page as for a missing id (a GetItem would ship the
   * whole item, up to 400 KB, and the size and transfer time would tell that the id exists).
   */
  private async getOwned(taskId: string, ownerId: string): Promise<Task | undefined> {
    try {
      const { Items } = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: `${TASK_TABLE.partitionKey} = :taskId`,
          FilterExpression: 'ownerId = :owner',
          ExpressionAttributeValues: { ':taskId': taskId, ':owner': ownerId },
          ConsistentRead: true,
        }),
      );
      return Items?.[0] as Task | undefined;
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  private key(taskId: string): Record<string, string> {
    return { [TASK_TABLE.partitionKey]: taskId };
  }

  /** Runs a conditional write: true if it was applied, false if its condition did not hold. */
  private async conditional(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (error) {
      // By name as well: a second copy of the SDK in the bundle would defeat instanceof.
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as Error).name === ConditionalCheckFailedException.name
      ) {
        return false;
      }
      throw toDependencyError(DEPENDENCY, error);
    }
  }
}
