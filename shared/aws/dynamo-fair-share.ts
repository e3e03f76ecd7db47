import { randomUUID } from 'node:crypto';
import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DeleteCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  FAIR_SHARE_TABLE,
  type OwnerSlots,
  type RateDecision,
  type SlotLease,
  type SlotResult,
  type SubmitRate,
  type SubmitRateLimiter,
  type Waiter,
} from '../fair-share.js';
import type { TaskPriority } from '../lanes.js';
import { DAY_SECONDS, secondsUntil } from '../time.js';
import { toDependencyError } from './dependency-error.js';
import type { WriteRecoveredListener } from './dynamo-task-store.js';

const DEPENDENCY = 'fair-share table';

/** A slot: held until `lease` (epoch ms) by the acquisition that wrote `writeId`. */
interface SlotEntry {
  readonly lease: number;
  readonly writeId: string;
}

/** An owner's slots: one item per pool, one map entry per holder (a task id). */
interface SlotsItem {
  readonly holders?: Readonly<Record<string, SlotEntry>>;
  /** Bumped by every write of `holders`: a pruning write is conditioned on the version it read. */
  readonly version?: number;
}

/** One waiter of a pool: an item beside the pool's slots, sorted by when it first waited. */
interface WaiterItem {
  readonly taskId: string;
  readonly type: string;
  readonly since: number;
  readonly lane?: string;
  readonly priority?: TaskPriority;
}

/** A waiter as stored and as handed back: its route only when it has one. */
const waiterOf = ({ taskId, type, since, lane, priority }: Waiter): WaiterItem => ({
  taskId,
  type,
  since,
  ...(lane !== undefined && { lane }),
  ...(priority !== undefined && { priority }),
});

/** A waiter's sort key: the line is kept in order of first wait (15 digits cover epoch ms for millennia). */
const waiterKey = (waiter: Pick<Waiter, 'taskId' | 'since'>) =>
  `${WAITER_PREFIX}${String(waiter.since).padStart(15, '0')}#${waiter.taskId}`;
const WAITER_PREFIX = 'waiter#';
/** A listed waiter is forgotten after a day: its task has long run, or polls on its own. */
const WAITER_TTL_SECONDS = DAY_SECONDS;
/** Waiters a release looks at before it gives up waking one (each taken by another release meanwhile). */
const WAKE_TRIES = 3;

/** An owner's submits in one window. */
interface WindowItem {
  readonly used?: number;
  readonly lastWriteId?: string;
}

/** Rounds of read-prune-write before a contended pool counts as full for now. */
const PRUNE_ROUNDS = 4;

/**
 * The fair-share table: per-owner concurrency slots (leases) and submit rate windows. Every write is
 * conditional and recognises its own earlier success after a lost reply, as DynamoTaskStore's do: an
 * acquisition finds its own `writeId` in its slot, a window its `lastWriteId`.
 */
export class DynamoFairShare implements OwnerSlots, SubmitRateLimiter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly onWriteRecovered: WriteRecoveredListener = () => {},
  ) {}

  /**
   * The common case is one write: add this holder while the map holds fewer than `limit` entries, live
   * or not (so never too many). When that is refused, the item as it was says why; ended leases are then
   * pruned in a write conditioned on the version read, and a race with another writer reads again.
   */
  async acquire(pool: string, holder: string, limit: number, now: Date, leaseExpiresAtMs: number): Promise<SlotResult> {
    const key = slotsKey(pool);
    const entry: SlotEntry = { lease: leaseExpiresAtMs, writeId: randomUUID() };
    const expiresAt = Math.ceil(leaseExpiresAtMs / 1000) + DAY_SECONDS;
    const acquired: SlotResult = { acquired: true, lease: { pool, holder, writeId: entry.writeId } };
    let current = await this.write<SlotsItem>(key, {
      UpdateExpression: 'SET holders.#holder = :entry, expiresAt = :expiresAt ADD version :one',
      ConditionExpression:
        'attribute_exists(holders) AND size(holders) < :limit AND attribute_not_exists(holders.#holder)',
      ExpressionAttributeNames: { '#holder': holder },
      ExpressionAttributeValues: { ':entry': entry, ':expiresAt': expiresAt, ':one': 1, ':limit': limit },
    });
    for (let round = 0; current.refused && round < PRUNE_ROUNDS; round++) {
      const item = current.item;
      if (item?.holders?.[holder]?.writeId === entry.writeId) return this.recovered('acquire', acquired);
      const nowMs = now.getTime();
      const own = item?.holders?.[holder];
      if (own && own.lease > nowMs) return { acquired: false, reason: 'held', freeAtMs: own.lease };
      const live = Object.entries(item?.holders ?? {}).filter(([name, slot]) => name !== holder && slot.lease > nowMs);
      if (live.length >= limit) {
        return { acquired: false, reason: 'full', freeAtMs: Math.min(...live.map(([, slot]) => slot.lease)) };
      }
      current = await this.write<SlotsItem>(key, {
        UpdateExpression: 'SET holders = :holders, version = :next, expiresAt = :expiresAt',
        ConditionExpression: item ? 'version = :version' : 'attribute_not_exists(pk)',
        ExpressionAttributeValues: {
          ':holders': Object.fromEntries([...live, [holder, entry]]),
          ':next': (item?.version ?? 0) + 1,
          ':expiresAt': expiresAt,
          ...(item && { ':version': item.version ?? 0 }),
        },
      });
    }
    if (!current.refused) return acquired;
    if (current.item?.holders?.[holder]?.writeId === entry.writeId) return this.recovered('acquire', acquired);
    // Other writers kept winning the race: a slot will free or be pruned, look again soon.
    return { acquired: false, reason: 'full', freeAtMs: now.getTime() + 1_000 };
  }

  /** An item per waiter, put again as it is on every wait: listing it twice is listing it once. */
  async enlist(pool: string, waiter: Waiter): Promise<void> {
    const item: WaiterItem = waiterOf(waiter);
    await this.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...poolKey(pool, waiterKey(waiter)),
          ...item,
          [FAIR_SHARE_TABLE.ttlAttribute]: Math.ceil(Date.now() / 1000) + WAITER_TTL_SECONDS,
        },
      }),
    );
  }

  async withdraw(pool: string, waiter: Waiter): Promise<void> {
    await this.send(new DeleteCommand({ TableName: this.tableName, Key: poolKey(pool, waiterKey(waiter)) }));
  }

  /**
   * Only the acquisition that wrote the slot removes it; a slot already gone (released, pruned) stays gone.
   * Then the oldest waiter is taken off the line: the delete that returns it is the one that takes it, so two
   * releases never wake the same waiter (a delete whose reply was lost wakes the next one instead; the
   * first comes back on its own wait).
   */
  async release(lease: SlotLease): Promise<Waiter | undefined> {
    // No write id of its own: repeating it changes nothing, and its retry after a lost reply is refused harmlessly.
    await this.write(slotsKey(lease.pool), {
      UpdateExpression: 'REMOVE holders.#holder ADD version :one',
      ConditionExpression: 'holders.#holder.writeId = :writeId',
      ExpressionAttributeNames: { '#holder': lease.holder },
      ExpressionAttributeValues: { ':writeId': lease.writeId, ':one': 1 },
    });
    for (let tries = 0; tries < WAKE_TRIES; tries++) {
      const { Items = [] } = await this.send<QueryCommandOutput>(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': FAIR_SHARE_TABLE.partitionKey, '#sk': FAIR_SHARE_TABLE.sortKey },
          ExpressionAttributeValues: {
            ':pk': slotsKey(lease.pool)[FAIR_SHARE_TABLE.partitionKey],
            ':prefix': WAITER_PREFIX,
          },
          Limit: 1,
        }),
      );
      const [oldest] = Items as WaiterItem[];
      if (!oldest) return undefined;
      const { Attributes } = await this.send<DeleteCommandOutput>(
        new DeleteCommand({
          TableName: this.tableName,
          Key: poolKey(lease.pool, waiterKey(oldest)),
          ReturnValues: 'ALL_OLD',
        }),
      );
      if (Attributes) return waiterOf(oldest);
    }
    return undefined;
  }

  /**
   * Fixed windows: one item per owner and window, counting the submits taken. `count` is added only if
   * it fits, so a batch is taken whole or not at all; the item outlives its window by an hour (TTL).
   */
  async take(owner: string, count: number, rate: SubmitRate, now: Date): Promise<RateDecision> {
    const windowMs = rate.windowSeconds * 1000;
    const window = Math.floor(now.getTime() / windowMs);
    const endsAtMs = (window + 1) * windowMs;
    const writeId = randomUUID();
    const outcome = await this.write<WindowItem>(
      {
        [FAIR_SHARE_TABLE.partitionKey]: `rate#${owner}#${rate.windowSeconds}#${window}`,
        [FAIR_SHARE_TABLE.sortKey]: 'window',
      },
      {
        UpdateExpression: 'SET lastWriteId = :writeId, expiresAt = :expiresAt ADD #used :count',
        // The second clause refuses the SDK's retry of a write that was applied, so it counts once.
        ConditionExpression:
          '(attribute_not_exists(#used) OR #used <= :room) AND (attribute_not_exists(lastWriteId) OR lastWriteId <> :writeId)',
        ExpressionAttributeNames: { '#used': 'used' },
        ExpressionAttributeValues: {
          ':writeId': writeId,
          ':expiresAt': Math.ceil(endsAtMs / 1000) + 3_600,
          ':count': count,
          ':room': rate.maxTasks - count,
        },
      },
    );
    if (!outcome.refused) return { allowed: true };
    if (outcome.item?.lastWriteId === writeId) return this.recovered('take', { allowed: true });
    return { allowed: false, retryAfterSeconds: Math.max(1, secondsUntil(endsAtMs, now.getTime())) };
  }

  /** An unconditional command: its errors as the adapter reports every dependency's. */
  private async send<Output>(command: { readonly input: object }): Promise<Output> {
    try {
      return (await this.db.send(command as never)) as Output;
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }

  private recovered<T>(operation: string, result: T): T {
    this.onWriteRecovered(operation);
    return result;
  }

  /**
   * A conditional UpdateItem. Refused: the item as it was (ReturnValuesOnConditionCheckFailure), or
   * from a consistent read where the emulator does not return it.
   */
  private async write<Item>(
    key: Record<string, string>,
    update: {
      readonly UpdateExpression: string;
      readonly ConditionExpression: string;
      readonly ExpressionAttributeNames?: Record<string, string>;
      readonly ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<{ readonly refused: boolean; readonly item?: Item }> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          ...update,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { refused: false };
    } catch (error) {
      if (
        !(error instanceof ConditionalCheckFailedException) &&
        (error as Error).name !== ConditionalCheckFailedException.name
      ) {
        throw toDependencyError(DEPENDENCY, error);
      }
      const old = (error as { Item?: Record<string, AttributeValue> }).Item;
      return { refused: true, item: old ? (unmarshall(old) as Item) : await this.read<Item>(key) };
    }
  }

  private async read<Item>(key: Record<string, string>): Promise<Item | undefined> {
    try {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      return Item as Item | undefined;
    } catch (error) {
      throw toDependencyError(DEPENDENCY, error);
    }
  }
}

/** A pool's partition holds its slots (`slots`) and its waiters (`waiter#…`). */
const poolKey = (pool: string, sort: string) => ({
  [FAIR_SHARE_TABLE.partitionKey]: `slots#${pool}`,
  [FAIR_SHARE_TABLE.sortKey]: sort,
});
const slotsKey = (pool: string) => poolKey(pool, 'slots');
