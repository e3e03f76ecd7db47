/**
 * Fair share under load (settings.fairness): the ports of the per-owner limits and the rules both sides of
 * them share. Their state lives in the fair-share table (shared/aws/dynamo-fair-share.ts), keyed by the
 * owner's group (shared/owner-group.ts), never by the owner id.
 */

import type { TaskPriority } from './lanes.js';

/** A submit rate limit: at most `maxTasks` per owner in each fixed window of `windowSeconds`. */
export interface SubmitRate {
  readonly maxTasks: number;
  readonly windowSeconds: number;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** Per-owner submit allowances. */
export interface SubmitRateLimiter {
  /**
   * Takes `count` submits from `owner`'s allowance in the window that holds `now`, all or none: a batch
   * is admitted whole or refused whole. Refused: when the window ends. A write whose reply was lost and
   * that the SDK retried counts once.
   */
  take(owner: string, count: number, rate: SubmitRate, now: Date): Promise<RateDecision>;
}

/** What `acquire` found: a slot taken for the holder, or why not and when to look again. */
export type SlotResult =
  | { readonly acquired: true; readonly lease: SlotLease }
  | {
      readonly acquired: false;
      /** `full`: `limit` live leases hold the pool; `held`: a live lease of this very holder does. */
      readonly reason: 'full' | 'held';
      /** Epoch ms by which a slot frees for certain: the earliest live lease's end (the holder's own, if held). */
      readonly freeAtMs: number;
    };

/** A slot held: what its release needs, so that only this acquisition can give it back. */
export interface SlotLease {
  readonly pool: string;
  readonly holder: string;
  readonly writeId: string;
}

/**
 * Concurrency slots: at most `limit` holders per pool, each slot a lease that ends on its own. A worker
 * that crashes or whose reply is lost cannot leak a slot: the lease ends, and the next acquire prunes it.
 * Beside the slots, the pool's waiters, oldest first: whoever gives a slot back wakes the oldest, so a
 * waiting task need not poll often to start soon after a slot frees, however many wait.
 */
export interface OwnerSlots {
  /**
   * Takes a slot of `pool` for `holder` (a task id) until `leaseExpiresAtMs`, if fewer than `limit` live
   * leases hold the pool; leases ended by `now` count as free. One conditional write (a read and a second
   * write when it must prune), which recognises its own earlier success after a lost reply.
   */
  acquire(pool: string, holder: string, limit: number, now: Date, leaseExpiresAtMs: number): Promise<SlotResult>;
  /** Lists `waiter` among the pool's waiters, by when it first waited; listing it again changes nothing. */
  enlist(pool: string, waiter: Waiter): Promise<void>;
  /** Takes `waiter` off the list (it got a slot by itself); one not listed is fine. */
  withdraw(pool: string, waiter: Waiter): Promise<void>;
  /**
   * Gives the slot back (a slot already gone, released before or pruned after its lease, is fine) and
   * takes the oldest waiter off the list, if there is one: the caller wakes it.
   */
  release(lease: SlotLease): Promise<Waiter | undefined>;
}

/** A task waiting for a slot: enough to send its message again, and its place in the line. */
export interface Waiter {
  readonly taskId: string;
  readonly type: string;
  /** Epoch ms of its first wait: the oldest waiter is woken first. */
  readonly since: number;
  /** The lane and priority its message goes to when it is woken, when not the default ones. */
  readonly lane?: string;
  readonly priority?: TaskPriority;
}

/** The owner's group a pool belongs to (see {@link slotPool}). */
export const groupOfPool = (pool: string): string => pool.split('/')[0] ?? pool;

/**
 * The pool a task's slot comes from: its owner's, or its owner's for its type when the type has a limit of
 * its own (defineTask `maxRunningPerOwner`), so a type with its own limit does not take the owner's slots.
 */
export const slotPool = (ownerGroup: string, type: string, ownLimit: boolean): string =>
  ownLimit ? `${ownerGroup}/${type}` : ownerGroup;

/**
 * How long a message waits, its task QUEUED, before it looks for a slot again: exponential from 2 s with
 * full jitter (waiters spread out instead of all coming back when the first slot frees), up to
 * `maxSeconds` (settings.fairness.ownerConcurrency.maxWaitSeconds). A release wakes a listed waiter sooner.
 */
export function slotWaitSeconds(waits: number, maxSeconds: number, random: () => number = Math.random): number {
  const ceiling = Math.max(1, Math.min(maxSeconds, 2 ** Math.min(waits, 20)));
  return 1 + Math.floor(random() * ceiling);
}

/**
 * Key schema of the fair-share table, shared by the CDK construct, the local stack and the adapter: a
 * pool's slots and its waiters share a partition (the waiters sorted by when they first waited).
 */
export const FAIR_SHARE_TABLE = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt' } as const;
