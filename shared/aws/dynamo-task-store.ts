import { randomUUID } from 'node:crypto';
import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
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
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DependencyUnavailableError, ItemTooLargeError } from '../errors.js';
import {
  type CallbackRecord,
  type CancelResult,
  type ClaimResult,
  type CreateResult,
  type DiscardedTask,
  type DiscardResult,
  type EndResult,
  type ListCursor,
  type ListOptions,
  type ReleaseResult,
  type ScanFilter,
  TASK_SUMMARY_ATTRIBUTES,
  type TaskOutcome,
  type TaskPage,
  type TaskStore,
  type TaskSummary,
  type TaskSummaryPage,
} from '../ports.js';
import {
  CallbackStatus,
  DEAD_LETTERED_CODE,
  isDeadLettered,
  isExpired,
  isTerminal,
  type Task,
  type TaskError,
  type TaskProgress,
  TaskStatus,
  ttlShiftSeconds,
} from '../task.js';
import { TASK_TABLE } from '../task-table.js';
import { epochSeconds } from '../time.js';
import { toDependencyError } from './dependency-error.js';

const DEPENDENCY = 'task table';

/** `status`, `error` and `result` are DynamoDB reserved words, hence the name placeholders. */
const NAMES = {
  '#status': 'status',
  '#error': 'error',
  '#result': 'result',
  '#callback': 'callback',
  '#cbStatus': 'status',
  '#cbAttempts': 'attempts',
} as const;

/** A finished task, whose terminal event a callback reports. */
const TERMINAL = '#status IN (:succeeded, :failed, :cancelled)';
const TERMINAL_VALUES = {
  ':succeeded': TaskStatus.Succeeded,
  ':failed': TaskStatus.Failed,
  ':cancelled': TaskStatus.Cancelled,
} as const;

/**
 * The claim's update. `claimedFrom = #status` reads the status before this update: RUNNING means a
 * takeover. Its predicate, `isClaimUpdate`, is exported so measuring tools recognise a claim as it is written.
 */
const CLAIM_UPDATE =
  'SET claimedFrom = #status, #status = :running, attempt = attempt + :one, startedAt = :now, updatedAt = :now, leaseExpiresAt = :lease REMOVE runAtMs, waitingUntilMs';

/** True for the input of a claim's UpdateItem (as the SDK sends it, with this adapter's write id added). */
export const isClaimUpdate = (input: { readonly UpdateExpression?: unknown }): boolean =>
  typeof input.UpdateExpression === 'string' && input.UpdateExpression.endsWith(CLAIM_UPDATE.slice('SET '.length));

/** Claimable: QUEUED and due, or RUNNING past its lease; never once expired. */
const CLAIMABLE =
  'expiresAt > :nowS AND ((#status = :queued AND (attribute_not_exists(runAtMs) OR runAtMs <= :nowMs)) OR (#status = :running AND leaseExpiresAt < :nowMs))';

/**
 * The task under the id is the one `created` describes, whatever happened to it since. After our delete
 * was applied and its reply lost, another request may have created a task under the same id (the same
 * Idempotency-Key) before the SDK's retry: that one is not ours to report as kept.
 */
const isSameCreation = (item: Task | undefined, created: DiscardedTask): boolean =>
  item !== undefined && item.createdAt === created.createdAt && item.payloadHash === created.payloadHash;

/**
 * Expired, and nothing else drives it: QUEUED (a message that still comes finds it expired too), or RUNNING
 * past its lease. A live attempt may still finish it (its writes do not look at the expiry).
 */
const EXPIRED_UNFINISHED =
  'expiresAt <= :nowS AND (#status = :queued OR (#status = :running AND leaseExpiresAt < :nowMs))';

/** A conditional write's outcome: applied, or refused with the item as it was (undefined if there is none). */
type WriteOutcome =
  | { readonly applied: true; readonly item?: Task }
  | { readonly applied: false; readonly item?: Task };

/** Reports writes recognised as their own after a lost reply (a metric in the functions). */
export type WriteRecoveredListener = (operation: string) => void;

export class DynamoTaskStore implements TaskStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly onWriteRecovered: WriteRecoveredListener = () => {},
  ) {}

  async create(task: Task, nowMs: number): Promise<CreateResult> {
    const writeId = task.lastWriteId ?? randomUUID();
    // Two rounds: an item that refused the put may be deleted (TTL) before we read it, freeing the id.
    for (let round = 0; ; round++) {
      const outcome = await this.write(
        task.taskId,
        new PutCommand({
          TableName: this.tableName,
          Item: { ...task, lastWriteId: writeId },
          // An expired item may be replaced (TTL deletes it later anyway), but not while an attempt holds it.
          ConditionExpression:
            'attribute_not_exists(taskId) OR (expiresAt <= :nowS AND NOT (#status = :running AND leaseExpiresAt >= :nowMs))',
          ExpressionAttributeNames: { '#status': NAMES['#status'] },
          ExpressionAttributeValues: {
            ':nowS': Math.floor(nowMs / 1000), // epoch seconds, as expiresAt
            ':nowMs': nowMs,
            ':running': TaskStatus.Running,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      if (outcome.applied || this.recognised('create', outcome.item, writeId)) return { created: true };
      if (outcome.item) return { created: false, existing: outcome.item };
      if (round === 1) throw new DependencyUnavailableError(DEPENDENCY);
    }
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

  async discard(created: DiscardedTask): Promise<DiscardResult> {
    const { taskId } = created;
    const outcome = await this.write(
      taskId,
      new DeleteCommand({
        TableName: this.tableName,
        Key: this.key(taskId),
        ConditionExpression: '#status = :queued AND attempt = :zero AND lastWriteId = :created',
        ExpressionAttributeNames: { '#status': NAMES['#status'] },
        ExpressionAttributeValues: {
          ':queued': TaskStatus.Queued,
          ':zero': 0,
          ':created': created.lastWriteId ?? '',
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    // No item left: removed now, by our own earlier try whose reply was lost, or never written.
    return outcome.applied || !isSameCreation(outcome.item, created) ? 'discarded' : 'kept';
  }

  async markReplayed(taskId: string, now: Date): Promise<boolean> {
    const writeId = randomUUID();
    const outcome = await this.update(taskId, writeId, {
      UpdateExpression: 'SET updatedAt = :now',
      ConditionExpression: '#status = :queued AND attempt = :zero',
      ExpressionAttributeValues: { ':queued': TaskStatus.Queued, ':zero': 0, ':now': now.toISOString() },
    });
    return outcome.applied || this.recognised('markReplayed', outcome.item, writeId);
  }

  async claim(taskId: string, now: Date, leaseExpiresAtMs: number): Promise<ClaimResult> {
    const writeId = randomUUID();
    const outcome = await this.update(taskId, writeId, {
      UpdateExpression: CLAIM_UPDATE,
      ConditionExpression: CLAIMABLE,
      ExpressionAttributeValues: {
        ':running': TaskStatus.Running,
        ':queued': TaskStatus.Queued,
        ':one': 1,
        ':now': now.toISOString(),
        ':nowMs': now.getTime(),
        ':nowS': epochSeconds(now),
        ':lease': leaseExpiresAtMs,
      },
    });
    if (outcome.applied && outcome.item) return { claimed: true, task: outcome.item };
    if (this.recognised('claim', outcome.item, writeId) && outcome.item) return { claimed: true, task: outcome.item };
    return { claimed: false, task: outcome.item };
  }

  async finish(
    taskId: string,
    attempt: number,
    outcome: TaskOutcome,
    now: Date,
    expiresAtSeconds: number,
  ): Promise<boolean> {
    const writeId = randomUUID();
    const data = outcomeData(outcome);
    const written = await this.update(taskId, writeId, {
      UpdateExpression: `SET #status = :status, finishedAt = :now, updatedAt = :now, expiresAt = :expiresAt${data.set} REMOVE leaseExpiresAt, runAtMs`,
      ConditionExpression: '#status = :running AND attempt = :attempt',
      ExpressionAttributeValues: {
        ':status': outcome.status,
        ':running': TaskStatus.Running,
        ':attempt': attempt,
        ':now': now.toISOString(),
        ':expiresAt': expiresAtSeconds,
        ...data.values,
      },
    });
    return written.applied || this.recognised('finish', written.item, writeId);
  }

  async progress(taskId: string, attempt: number, progress: TaskProgress, now: Date): Promise<Task | undefined> {
    // No write id: repeating the same progress write is harmless, and its condition still holds after the first.
    const outcome = await this.update(taskId, undefined, {
      UpdateExpression: 'SET progress = :progress, updatedAt = :now',
      ConditionExpression: '#status = :running AND attempt = :attempt',
      ExpressionAttributeValues: {
        ':progress': progress,
        ':now': now.toISOString(),
        ':running': TaskStatus.Running,
        ':attempt': attempt,
      },
    });
    return outcome.applied ? outcome.item : undefined;
  }

  async release(taskId: string, attempt: number, error: TaskError, now: Date, runAtMs: number): Promise<ReleaseResult> {
    const writeId = randomUUID();
    const outcome = await this.update(taskId, writeId, {
      UpdateExpression:
        'SET #status = :queued, lastError = :error, updatedAt = :now, runAtMs = :runAt REMOVE leaseExpiresAt',
      // A cancel asked during the attempt wins over its retry.
      ConditionExpression: '#status = :running AND attempt = :attempt AND attribute_not_exists(cancelRequested)',
      ExpressionAttributeValues: {
        ':queued': TaskStatus.Queued,
        ':running': TaskStatus.Running,
        ':attempt': attempt,
        ':error': error,
        ':now': now.toISOString(),
        ':runAt': runAtMs,
      },
    });
    if (outcome.applied || this.recognised('release', outcome.item, writeId)) return 'released';
    const current = outcome.item;
    if (current?.status === TaskStatus.Running && current.attempt === attempt && current.cancelRequested) {
      return 'cancelRequested';
    }
    return 'superseded';
  }

  async failAbandoned(
    taskId: string,
    error: TaskError,
    now: Date,
    expiresAtSeconds: number,
    toleranceMs = 0,
  ): Promise<EndResult> {
    // A task waiting for its owner's slot is driven by its own message, which never goes to the DLQ.
    return this.endUnattended('failAbandoned', taskId, `${CLAIMABLE} AND attribute_not_exists(waitingUntilMs)`, {
      error,
      now,
      nowMs: now.getTime() + toleranceMs,
      expiresAtSeconds,
    });
  }

  async endExpired(taskId: string, error: TaskError, now: Date, expiresAtSeconds: number): Promise<EndResult> {
    return this.endUnattended('endExpired', taskId, EXPIRED_UNFINISHED, {
      error,
      now,
      nowMs: now.getTime(),
      expiresAtSeconds,
    });
  }

  /**
   * Ends a task nothing drives any more, if `guard` still holds: FAILED with `error`, or CANCELLED when its
   * owner asked for a cancel that the lost attempt never recorded (as that attempt would have ended it).
   * Each write is fenced by its own write id, so a lost reply is recognised.
   */
  private async endUnattended(
    operation: string,
    taskId: string,
    guard: string,
    at: { readonly error: TaskError; readonly now: Date; readonly nowMs: number; readonly expiresAtSeconds: number },
  ): Promise<EndResult> {
    const values = {
      ':queued': TaskStatus.Queued,
      ':running': TaskStatus.Running,
      ':now': at.now.toISOString(),
      ':nowMs': at.nowMs,
      ':nowS': epochSeconds(at.now),
      ':expiresAt': at.expiresAtSeconds,
    };
    const end =
      'finishedAt = :now, updatedAt = :now, expiresAt = :expiresAt REMOVE leaseExpiresAt, runAtMs, waitingUntilMs';
    const writeId = randomUUID();
    const failed = await this.update(taskId, writeId, {
      UpdateExpression: `SET #status = :failed, #error = :error, ${end}`,
      ConditionExpression: `${guard} AND attribute_not_exists(cancelRequested)`,
      ExpressionAttributeValues: { ...values, ':failed': TaskStatus.Failed, ':error': at.error },
    });
    if (failed.applied || this.recognised(operation, failed.item, writeId)) {
      return { ended: true, ...(failed.item && { task: failed.item }) };
    }
    if (!failed.item?.cancelRequested) return { ended: false, task: failed.item };
    const cancelWriteId = randomUUID();
    const cancelled = await this.update(taskId, cancelWriteId, {
      UpdateExpression: `SET #status = :cancelled, ${end}`,
      ConditionExpression: `${guard} AND cancelRequested = :true`,
      ExpressionAttributeValues: { ...values, ':cancelled': TaskStatus.Cancelled, ':true': true },
    });
    if (cancelled.applied || this.recognised(operation, cancelled.item, cancelWriteId)) {
      return { ended: true, ...(cancelled.item && { task: cancelled.item }) };
    }
    return { ended: false, task: cancelled.item };
  }

  async recordCallback(taskId: string, record: CallbackRecord, _now: Date): Promise<boolean> {
    const writeId = randomUUID();
    const set = [
      '#callback.eventAt = :eventAt',
      '#callback.#cbAttempts = :attempts',
      '#callback.#cbStatus = :cbStatus',
    ];
    const remove: string[] = [];
    const values: Record<string, unknown> = {
      ':eventAt': record.eventAt,
      ':attempts': record.attempts,
      ':cbStatus': record.status,
    };
    const optional = {
      lastStatusCode: record.lastStatusCode,
      deliveredAt: record.deliveredAt,
      nextAttemptAt: record.nextAttemptAt,
    };
    for (const [name, value] of Object.entries(optional)) {
      if (value === undefined) remove.push(`#callback.${name}`);
      else {
        set.push(`#callback.${name} = :${name}`);
        values[`:${name}`] = value;
      }
    }
    // The first record of an event finds the fields of an earlier event (a redrive) or none; later ones their own.
    const fence =
      record.attemptsBefore === 0
        ? '(attribute_not_exists(#callback.eventAt) OR #callback.eventAt <> :eventAt)'
        : '#callback.eventAt = :eventAt AND #callback.#cbAttempts = :before AND #callback.#cbStatus = :pending';
    const outcome = await this.update(taskId, writeId, {
      UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: `${TERMINAL} AND finishedAt = :eventAt AND attribute_exists(#callback) AND ${fence}`,
      ExpressionAttributeValues: {
        ...values,
        ...TERMINAL_VALUES,
        ...(record.attemptsBefore > 0 && { ':before': record.attemptsBefore, ':pending': CallbackStatus.Pending }),
      },
    });
    return outcome.applied || this.recognised('recordCallback', outcome.item, writeId);
  }

  async cancel(
    taskId: string,
    ownerId: string,
    clock: Date | (() => Date),
    expiresAtSeconds: number,
  ): Promise<CancelResult | undefined> {
    const readClock = typeof clock === 'function' ? clock : () => clock;
    let now = readClock();
    // A race with the worker (claim, release) can move the task between the two writes: a few rounds settle it.
    for (let round = 0; round < 4; round++) {
      // Each round's writes carry its own time: a task released meanwhile has run an attempt since the last.
      if (round > 0) now = readClock();
      const common = { ':owner': ownerId, ':now': now.toISOString() };
      const writeId = randomUUID();
      const queued = await this.update(taskId, writeId, {
        UpdateExpression:
          'SET #status = :cancelled, cancelRequested = :true, finishedAt = :now, updatedAt = :now, expiresAt = :expiresAt REMOVE runAtMs',
        ConditionExpression: 'ownerId = :owner AND expiresAt > :nowS AND #status = :queued',
        ExpressionAttributeValues: {
          ...common,
          ':nowS': epochSeconds(now),
          ':true': true,
          ':cancelled': TaskStatus.Cancelled,
          ':queued': TaskStatus.Queued,
          ':expiresAt': expiresAtSeconds,
        },
      });
      if (queued.applied && queued.item) return { task: queued.item, change: 'cancelled' };
      const found = queued.item;
      if (!found || found.ownerId !== ownerId || isExpired(found, now.getTime())) return undefined;
      if (this.recognised('cancel', found, writeId)) return { task: found, change: 'cancelled' };
      if (found.status === TaskStatus.Queued) continue;
      if (isTerminal(found.status) || found.cancelRequested) return { task: found, change: 'none' };
      // RUNNING: ask the attempt that holds it to stop. Not a state change: lastWriteId stays the claim's.
      const running = await this.update(taskId, undefined, {
        UpdateExpression: 'SET cancelRequested = :true, updatedAt = :now',
        ConditionExpression: 'ownerId = :owner AND #status = :running AND attempt = :attempt',
        ExpressionAttributeValues: {
          ...common,
          ':true': true,
          ':running': TaskStatus.Running,
          ':attempt': found.attempt,
        },
      });
      if (running.applied && running.item) return { task: running.item, change: 'cancelRequested' };
      const after = running.item;
      if (!after) return undefined;
      if (isTerminal(after.status) || (after.status === TaskStatus.Running && after.cancelRequested)) {
        return { task: after, change: 'none' };
      }
    }
    const current = await this.get(taskId, { ownerId });
    return current ? { task: current, change: 'none' } : undefined;
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
    const matching = filter.errorCode ? `${inStatuses} AND #error.code = :code` : inStatuses;
    // A Scan bills every item it reads, filtered or not: finding pending callbacks in the same pass is free.
    const pendingCallback = `(${TERMINAL} AND attribute_exists(#callback) AND (attribute_not_exists(#callback.eventAt) OR #callback.eventAt <> finishedAt OR #callback.#cbStatus = :pending))`;
    try {
      const { Items = [], LastEvaluatedKey } = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: filter.pendingCallbacks ? `(${matching}) OR ${pendingCallback}` : matching,
          ExpressionAttributeNames: {
            '#status': NAMES['#status'],
            ...(filter.errorCode && { '#error': NAMES['#error'] }),
            ...(filter.pendingCallbacks && { '#callback': NAMES['#callback'], '#cbStatus': NAMES['#cbStatus'] }),
          },
          ExpressionAttributeValues: {
            ...statuses,
            ...(filter.errorCode && { ':code': filter.errorCode }),
            ...(filter.pendingCallbacks && { ...TERMINAL_VALUES, ':pending': CallbackStatus.Pending }),
          },
          ExclusiveStartKey: cursor,
        }),
      );
      return { tasks: Items as Task[], ...(LastEvaluatedKey && { cursor: LastEvaluatedKey as ListCursor }) };
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  async noteWaiting(
    taskId: string,
    untilMs: number,
    options: { readonly expected?: number; readonly nowMs: number },
  ): Promise<'noted' | 'superseded' | 'gone'> {
    // No write id: `untilMs` itself is the mark a retry after a lost reply finds.
    const outcome = await this.update(taskId, undefined, {
      UpdateExpression: 'SET waitingUntilMs = :until',
      ConditionExpression: `#status IN (:queued, :running) AND (attribute_not_exists(waitingUntilMs) OR waitingUntilMs < :nowMs${
        options.expected === undefined ? '' : ' OR waitingUntilMs = :expected'
      })`,
      ExpressionAttributeValues: {
        ':queued': TaskStatus.Queued,
        ':running': TaskStatus.Running,
        ':until': untilMs,
        ':nowMs': options.nowMs,
        ...(options.expected !== undefined && { ':expected': options.expected }),
      },
    });
    const item = outcome.item;
    if (outcome.applied) return 'noted';
    if (!item || isTerminal(item.status)) return 'gone';
    return item.waitingUntilMs === untilMs ? 'noted' : 'superseded';
  }

  async requeueDeadLettered(taskId: string, extraAttempts: number, now: Date): Promise<boolean> {
    const current = await this.get(taskId);
    if (!isDeadLettered(current)) return false;
    const writeId = randomUUID();
    // attempt stays monotonic (it is the fencing token): the budget grows instead. The time to live moves as
    // far as the redrive comes after the end: the task gets again the span its end gave it, from now.
    const outcome = await this.update(taskId, writeId, {
      UpdateExpression:
        'SET #status = :queued, maxAttempts = attempt + :extra, updatedAt = :now, expiresAt = expiresAt + :shift REMOVE #error, finishedAt, leaseExpiresAt, runAtMs',
      // The end the shift was counted from (an item written without one gets no shift).
      ConditionExpression: `#status = :failed AND #error.code = :deadLettered AND ${
        current.finishedAt === undefined ? 'attribute_not_exists(finishedAt)' : 'finishedAt = :finishedAt'
      }`,
      ExpressionAttributeValues: {
        ':queued': TaskStatus.Queued,
        ':failed': TaskStatus.Failed,
        ':deadLettered': DEAD_LETTERED_CODE,
        ':extra': extraAttempts,
        ':now': now.toISOString(),
        ...(current.finishedAt !== undefined && { ':finishedAt': current.finishedAt }),
        ':shift': ttlShiftSeconds(current.finishedAt, now),
      },
    });
    return outcome.applied || this.recognised('requeueDeadLettered', outcome.item, writeId);
  }

  /**
   * A conditional UpdateItem returning the new item; `writeId` (when given) is stored as
   * `lastWriteId`, so a retry of this very write can recognise it.
   */
  private update(
    taskId: string,
    writeId: string | undefined,
    update: Pick<UpdateCommandInput, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeValues'>,
  ): Promise<WriteOutcome> {
    const expression = update.UpdateExpression ?? '';
    const names = Object.fromEntries(
      Object.entries(NAMES).filter(([placeholder]) =>
        `${expression} ${update.ConditionExpression ?? ''}`.includes(placeholder),
      ),
    );
    return this.write(
      taskId,
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(taskId),
        UpdateExpression: writeId ? withWriteId(expression) : expression,
        ConditionExpression: update.ConditionExpression,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ...(writeId && { ':writeId': writeId }) },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  }

  /**
   * Runs a conditional write. When the condition fails, the item as it was comes back with the
   * error (ReturnValuesOnConditionCheckFailure); an emulator that does not return it costs a
   * consistent read instead, which gives the same answer.
   */
  private async write(taskId: string, command: UpdateCommand | PutCommand | DeleteCommand): Promise<WriteOutcome> {
    try {
      const response = await this.db.send(command as UpdateCommand);
      return { applied: true, item: response.Attributes as Task | undefined };
    } catch (error) {
      // By name as well: a second copy of the SDK in the bundle would defeat instanceof.
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as Error).name === ConditionalCheckFailedException.name
      ) {
        const old = (error as { Item?: Record<string, AttributeValue> }).Item;
        return { applied: false, item: old ? (unmarshall(old) as Task) : await this.get(taskId) };
      }
      if (isItemTooLarge(error)) throw new ItemTooLargeError({ cause: error });
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  /** True when the refused write found its own `writeId`: an earlier try of it was applied and its reply lost. */
  private recognised(operation: string, item: Task | undefined, writeId: string): boolean {
    const ours = item?.lastWriteId === writeId;
    if (ours) this.onWriteRecovered(operation);
    return ours;
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
}

/**
 * What a finish writes besides the status: the result (or its reference in the task data bucket),
 * the error, the attempt's artifacts.
 */
function outcomeData(outcome: TaskOutcome): { set: string; values: Record<string, unknown> } {
  if (outcome.status === 'CANCELLED') return { set: '', values: {} };
  const artifacts = outcome.artifacts?.length
    ? { set: ', artifacts = :artifacts', values: { ':artifacts': outcome.artifacts } }
    : { set: '', values: {} };
  const data =
    outcome.status === 'FAILED'
      ? { set: ', #error = :error', values: { ':error': outcome.error } }
      : outcome.resultRef
        ? { set: ', resultRef = :resultRef', values: { ':resultRef': outcome.resultRef } }
        : { set: ', #result = :result', values: { ':result': outcome.result } };
  return { set: data.set + artifacts.set, values: { ...data.values, ...artifacts.values } };
}

/** Adds `lastWriteId = :writeId` to the SET clause of an update expression. */
function withWriteId(expression: string): string {
  return expression.replace(/^SET /, 'SET lastWriteId = :writeId, ');
}

/** DynamoDB refuses an item over 400 KB with a ValidationException that names the item size. */
const isItemTooLarge = (error: unknown): boolean =>
  (error as Error | undefined)?.name === 'ValidationException' && /item size/i.test((error as Error).message);
