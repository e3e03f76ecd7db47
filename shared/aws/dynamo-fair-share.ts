import { randomUUID } from 'node:crypto';
import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  FAIR_SHARE_TABLE,
  type OwnerSlots,
  type RateDecision,
  type SlotLease,
  type SlotResult,
  type SubmitRate,
  type SubmitRateLimiter,
} from '../fair-share.js';
import { DAY_SECONDS } from '../time.js';
import { toDependencyError } from './dependency-error.js';
import type { WriteRecoveredListener } from './dynamo-task-store.js';

const DEPENDENCY = 'fair-share table';

/** A slot: held until `lease` (epoch ms) by the acquisition that wrote `writeId`. */
interface SlotEntry {
  readonly lease: number;
  readonly writeId: string;
}

/** An owner's slots: one item per pool, one map entry per holder (a task id), and the waiters to wake. */
interface SlotsItem {
  readonly holders?: Readonly<Record<string, SlotEntry>>;
  /** Bumped by every write of `holders`: a pruning write is conditioned on the version it read. */
  readonly version?: number;
  /** A string set of waiters (`waiterOf`), at most `waitersFor(limit)`. */
  readonly waiting?: ReadonlySet<string>;
}

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

  /**
   * A string set, so being listed twice is being listed once and the retry of a lost reply changes
   * nothing; its condition only keeps the list short (the item is billed by its size on every write).
   */
  async enlist(pool: string, waiter: string, capacity: number): Promise<void> {
    await this.write(slotsKey(pool), {
      UpdateExpression: 'ADD waiting :waiter',
      ConditionExpression: 'attribute_not_exists(waiting) OR size(waiting) < :capacity OR contains(waiting, :name)',
      ExpressionAttributeValues: { ':waiter': new Set([waiter]), ':capacity': capacity, ':name': waiter },
    });
  }

  /**
   * Only the acquisition that wrote the slot removes it; a slot already gone (released, pruned) stays gone.
   * The item as it is after the removal names the waiters: one is taken off the list (unconditionally: a
   * waiter woken twice costs a spare message, nothing more).
   */
  async release(lease: SlotLease): Promise<string | undefined> {
    // No write id of its own: repeating it changes nothing, and its retry after a lost reply is refused harmlessly.
    const outcome = await this.write<SlotsItem>(
      slotsKey(lease.pool),
      {
        UpdateExpression: 'REMOVE holders.#holder ADD version :one',
        ConditionExpression: 'holders.#holder.writeId = :writeId',
        ExpressionAttributeNames: { '#holder': lease.holder },
        ExpressionAttributeValues: { ':writeId': lease.writeId, ':one': 1 },
      },
      'ALL_NEW',
    );
    const [waiter] = outcome.item?.waiting ?? [];
    if (waiter === undefined) return undefined;
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: slotsKey(lease.pool),
          UpdateExpression: 'DELETE waiting :waiter',
          ExpressionAttributeValues: { ':waiter': new Set([waiter]) },
        }),
      )
      .catch((error: unknown) => {
        throw toDependencyError(DEPENDENCY, error);
      });
    return waiter;
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
      { [FAIR_SHARE_TABLE.partitionKey]: `rate#${owner}#${rate.windowSeconds}#${window}` },
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
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((endsAtMs - now.getTime()) / 1000)) };
  }

  private recovered<T>(operation: string, result: T): T {
    this.onWriteRecovered(operation);
    return result;
  }

  /**
   * A conditional UpdateItem. Refused: the item as it was (ReturnValuesOnConditionCheckFailure), or
   * from a consistent read where the emulator does not return it. Applied: the item after it, when
   * `returnValues` asks for it.
   */
  private async write<Item>(
    key: Record<string, string>,
    update: {
      readonly UpdateExpression: string;
      readonly ConditionExpression: string;
      readonly ExpressionAttributeNames?: Record<string, string>;
      readonly ExpressionAttributeValues: Record<string, unknown>;
    },
    returnValues?: 'ALL_NEW',
  ): Promise<{ readonly refused: boolean; readonly item?: Item }> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          ...update,
          ...(returnValues && { ReturnValues: returnValues }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { refused: false, item: Attributes as Item | undefined };
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

const slotsKey = (pool: string) => ({ [FAIR_SHARE_TABLE.partitionKey]: `slots#${pool}` });
